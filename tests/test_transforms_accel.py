"""The C accelerator (transforms/_fastseg.c) and its pure-Python twin (transforms/_pyfastseg.py) give the
same results on the same inputs, token for token and float for float; transforms._accel picks one.

Where the extension is not built, the C side of each comparison is skipped and the Python side is still
held to the references (jieba itself, Segmenter.reference_tokenize, the scorer's and the extractor's
Python rules).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import jieba.finalseg
import pytest

from tests.test_transforms_segment import (
    _RUN_TEXTS,
    _SCANNER_EDGES,
    PROTECTED,
    SAMPLE,
    _generated_texts,
)
from transforms import _accel, _pyfastseg, post_text, segment, sentiment, weibo_text
from transforms.confidential import ConfidentialMatcher
from transforms.keywords import KeywordExtractor
from transforms.post_text import PostTextAnalyzer
from transforms.segment import Segmenter
from transforms.sentiment import SentimentScorer

try:
    from transforms import _fastseg
except ImportError:  # not built: the Python side alone
    _fastseg = None

PROJECT = Path(__file__).resolve().parent.parent
needs_c = pytest.mark.skipif(_fastseg is None, reason="the C extension transforms._fastseg is not built")
# Both implementations, for tests of one API: `accel` is the module under test.
IMPLEMENTATIONS = [
    pytest.param(_fastseg, id="c", marks=needs_c),
    pytest.param(_pyfastseg, id="python"),
]
_HMM = (jieba.finalseg.start_P, jieba.finalseg.trans_P, jieba.finalseg.emit_P)


@pytest.fixture(scope="module")
def brand_dictionary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dict") / "terms.dict"
    terms = [
        "极光X5 100 nz",
        "三只松鼠",
        "星环OS",
        "不二家",
        "abc中文",
        "一个人",
        "Mate60",
        "也是",
        "山海茶饮 20000",
    ]
    path.write_text("\n".join(terms) + "\n", encoding="utf-8")
    return path


def _texts(count: int) -> list[str]:
    return (
        _SCANNER_EDGES
        + _RUN_TEXTS
        + [text for text, _token in PROTECTED]
        + SAMPLE
        + ["\r\n好\r\n", "ab.12%好3.5好", "", " ", "\x00", "好\x00\x00", "・カタ", "a\r\r\nb"]
        + _generated_texts(count, seed=20261203)
    )


def _tokenizers(brand_dictionary: Path) -> list:
    return [
        segment._jieba_tokenizer(()),
        segment._jieba_tokenizer(tuple(segment._read_user_dictionary(brand_dictionary))),
    ]


# --- the choice of implementation -----------------------------------------------------------------


def _implementation_in_a_fresh_process(env: dict[str, str], prelude: str = "") -> str:
    code = f"{prelude}import transforms._accel as a; print(a.IMPLEMENTATION)"
    environment = {key: value for key, value in os.environ.items() if key != _accel.NO_C_EXTENSION_ENV}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT, env={**environment, **env}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_environment_forces_the_python_path() -> None:
    assert _implementation_in_a_fresh_process({_accel.NO_C_EXTENSION_ENV: "1"}) == "python"
    expected = "c" if _fastseg is not None else "python"
    assert _implementation_in_a_fresh_process({}) == expected
    assert _implementation_in_a_fresh_process({_accel.NO_C_EXTENSION_ENV: "0"}) == expected


def test_without_the_extension_the_python_path_is_taken() -> None:
    # sys.modules[name] = None makes `import name` raise ImportError, as a missing .so does.
    prelude = "import sys; sys.modules['transforms._fastseg'] = None; "
    assert _implementation_in_a_fresh_process({}, prelude) == "python"


def test_the_transforms_use_the_chosen_implementation() -> None:
    chosen = _fastseg if _accel.IMPLEMENTATION == "c" else _pyfastseg
    assert _accel.scan is chosen.scan and _accel.Dictionary is chosen.Dictionary
    assert post_text.tally_terms is chosen.tally_terms and post_text.lookup_entries is chosen.lookup_entries
    assert sentiment.sentiment_pass is chosen.sentiment_pass
    assert isinstance(weibo_text._NORMALIZER, chosen.Normalizer)


# --- Dictionary: jieba's cut ----------------------------------------------------------------------


@pytest.mark.parametrize("accel", IMPLEMENTATIONS)
def test_dictionary_cuts_exactly_as_jieba(accel, brand_dictionary: Path) -> None:
    texts = _texts(1500)
    for tokenizer in _tokenizers(brand_dictionary):
        dictionary = accel.Dictionary(tokenizer.FREQ, tokenizer.total, *_HMM)
        for text in texts:
            assert dictionary.cut(text) == tokenizer.lcut(text, False, True), repr(text)


@needs_c
def test_dictionaries_agree_on_hand_made_state() -> None:
    # Dictionaries not built by jieba: prefixes missing from FREQ, freq 0, one-entry HMM tables.
    states = [
        ({"abc": 5, "b": 3, "中国": 10, "中": 0}, 20),
        ({"中": 1}, 1),
        ({"人民": 100, "人": 0, "民": 2, "中华人民共和国": 50}, 1000),
    ]
    texts = ["abcabc", "中国人", "中华人民共和国人民", "x中y", "人民人民民", "ab.1%中", "中中中中"]
    for freq, total in states:
        c_port = _fastseg.Dictionary(dict(freq), total, *_HMM)
        python = _pyfastseg.Dictionary(dict(freq), total, *_HMM)
        for text in texts:
            assert python.cut(text) == c_port.cut(text), (freq, text)


@pytest.mark.parametrize("accel", IMPLEMENTATIONS)
def test_a_dictionary_whose_init_failed_cannot_cut(accel) -> None:
    broken = accel.Dictionary.__new__(accel.Dictionary)
    with pytest.raises(KeyError):
        broken.__init__({"中": 1}, 1, jieba.finalseg.start_P, {}, jieba.finalseg.emit_P)
    with pytest.raises(RuntimeError, match="not initialized"):
        broken.cut("中文")
    early = accel.Dictionary.__new__(accel.Dictionary)
    with pytest.raises(OverflowError):  # fails while reading freq
        early.__init__({"中": 1 << 70}, 1, *_HMM)
    with pytest.raises(RuntimeError, match="already initialized"):
        early.__init__({"中": 1}, 1, *_HMM)
    with pytest.raises(ValueError, match="total must be positive"):
        accel.Dictionary({"中": 1}, 0, *_HMM)
    with pytest.raises(TypeError):
        accel.Dictionary({"中": "1"}, 1, *_HMM)
    with pytest.raises(TypeError):
        accel.Dictionary({"中": 1}, 1, *_HMM).cut(b"x")


# --- scan: the tokenizer loop ---------------------------------------------------------------------


@needs_c
@pytest.mark.parametrize("with_dictionary", [False, True])
def test_scan_agrees_with_both_cutters(with_dictionary: bool, brand_dictionary: Path) -> None:
    dictionaries = [brand_dictionary] if with_dictionary else []
    segmenter = Segmenter(dictionaries, backend="jieba")
    segmenter.tokenize("")  # builds the patterns and the backend
    words = segmenter._dictionary_words()
    tokenizer = segment._jieba_tokenizer(words)
    c_dictionary = _fastseg.Dictionary(tokenizer.FREQ, tokenizer.total, *_HMM)
    python_dictionary = _pyfastseg.Dictionary(tokenizer.FREQ, tokenizer.total, *_HMM)
    match, han_firsts, rules = segmenter._match_protected, segmenter._han_firsts, segment._RUN_RULES
    rjieba_cut = segment._load_backend("rjieba", words).cut
    for text in _texts(2000):
        expected = _fastseg.scan(text, match, han_firsts, rules, c_dictionary)
        assert _pyfastseg.scan(text, match, han_firsts, rules, python_dictionary) == expected, repr(text)
        assert expected == segmenter.reference_tokenize(text), repr(text)
        # A Python cut function as the cutter (the jieba and rjieba backends).
        assert _pyfastseg.scan(text, match, han_firsts, rules, rjieba_cut) == _fastseg.scan(
            text, match, han_firsts, rules, rjieba_cut
        ), repr(text)


@pytest.mark.parametrize("accel", IMPLEMENTATIONS)
def test_scan_refuses_what_the_c_refuses(accel) -> None:
    match = Segmenter(backend="jieba")._split_re.match  # any bound .match
    with pytest.raises(TypeError):
        accel.scan(b"x", match, "", segment._RUN_RULES, list)
    with pytest.raises(TypeError, match="rules"):
        accel.scan("x", match, "", segment._RUN_RULES[:5], list)
    with pytest.raises(ValueError, match="Chinese characters"):
        accel.scan("x", match, "", ("a", "", "", "", "", ""), list)
    broken = accel.Dictionary.__new__(accel.Dictionary)
    with pytest.raises(RuntimeError, match="not initialized"):
        accel.scan("中文", match, "", segment._RUN_RULES, broken)


# --- Normalizer, lookup_entries, sentiment_pass, tally_terms ----------------------------------------


@needs_c
def test_normalizers_agree() -> None:
    table = weibo_text._TRANSLATE
    c_port, python = _fastseg.Normalizer(table), _pyfastseg.Normalizer(table)
    whitespace = "".join(chr(code) for code in range(0x3001) if chr(code).isspace())
    pool = "a好，！？：\uff21\uff5e\u3000\u200b\ufeff \t\n\r\x1c\x85\u2028😂𠀀é" + whitespace
    rng = random.Random(20261203)
    for _ in range(20_000):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(0, 14)))
        assert python.normalize(text) == c_port.normalize(text), repr(text)


@pytest.mark.parametrize("accel", IMPLEMENTATIONS)
def test_normalizer_refuses_a_table_beyond_the_bmp(accel) -> None:
    with pytest.raises(ValueError, match="BMP"):
        accel.Normalizer({0x10000: 0x20})
    with pytest.raises(ValueError, match="BMP"):
        accel.Normalizer({0x20: "x"})
    assert accel.Normalizer({0x41: 0x61, 0x42: None}).normalize("  AB\u3000C  ") == "a C"


def _random_tokens(scorer: SentimentScorer, rng: random.Random) -> list[str]:
    lexicons = scorer._lexicons
    pool = (
        sorted(lexicons.words)[:400]
        + sorted(lexicons.emoticons)[:50]
        + sorted(lexicons.negations)
        + sorted(lexicons.degrees)
        + sorted(lexicons.contrasts)
        + sorted(scorer._join_starts)
        + sorted(scorer._join_prefixes)
        + list("，。！？,.!~ 我你是的了啊么哒")
        + ["很开心啊", "不开心", "累死", "哈哈哈哈", "23333", "棒棒", "好好好", "新词未知", "😂", ""]
    )
    return [rng.choice(pool) for _ in range(rng.randint(0, 16))]


@pytest.mark.parametrize("accel", IMPLEMENTATIONS)
def test_sentiment_pass_equals_the_python_reference(accel) -> None:
    scorer = SentimentScorer.default()
    rng = random.Random(20261203)
    for _ in range(20_000):
        tokens = _random_tokens(scorer, rng)
        entries = [scorer.token_sentiment(token) for token in tokens]
        total, hits = accel.sentiment_pass(tokens, entries, scorer._pass_tables)
        reference_total, reference_hits, _model = scorer._pass_entries_reference(tokens, entries)
        assert (repr(total), hits) == (repr(reference_total), reference_hits), tokens


@needs_c
def test_sentiment_passes_agree() -> None:
    scorer = SentimentScorer.default()
    rng = random.Random(7)
    for _ in range(20_000):
        tokens = _random_tokens(scorer, rng)
        entries = [scorer.token_sentiment(token) for token in tokens]
        expected = _fastseg.sentiment_pass(tokens, entries, scorer._pass_tables)
        got = _pyfastseg.sentiment_pass(tokens, entries, scorer._pass_tables)
        assert (repr(got[0]), got[1], type(got[1])) == (repr(expected[0]), expected[1], type(expected[1])), (
            tokens
        )


@needs_c
def test_lookups_and_tallies_agree() -> None:
    rng = random.Random(20261203)
    words = ["极光", "手机", "发布", "旗舰", "影像", "续航", "好", "的", "zz未知"]
    for _ in range(5_000):
        memo = {}
        for word in rng.sample(words, rng.randint(0, len(words))):
            idf = rng.choice([None, rng.random() * 12, 0.0, 2.0])
            memo[word] = (0, 0.0, rng.choice([None, (word, "word"), (word, "topic")]), idf)
        tokens = [rng.choice(words) for _ in range(rng.randint(0, 20))]
        assert _pyfastseg.lookup_entries(memo, tokens) == _fastseg.lookup_entries(memo, tokens)
        entries = [memo.get(token) or (0, 0.0, None, None) for token in tokens]
        if entries and rng.random() < 0.3:  # an equal entry that is another object (a cleared memo)
            entries.append(tuple(rng.choice(entries)))
        for top_k in (0, 1, 5, 50):
            c_counts, c_keywords = _fastseg.tally_terms(entries, top_k)
            counts, keywords = _pyfastseg.tally_terms(entries, top_k)
            assert list(counts.items()) == list(c_counts.items()), entries
            assert repr(keywords) == repr(c_keywords), entries


@pytest.mark.parametrize("accel", IMPLEMENTATIONS)
def test_tallies_rank_as_the_keyword_extractor_does(accel) -> None:
    extractor = KeywordExtractor(stopwords={"OK"})
    rng = random.Random(11)
    words = ["极光", "手机", "发布", "旗舰", "影像", "续航", "好", "2024", "……", "ok", "星环OS未知词"]
    for _ in range(2_000):
        tokens = [rng.choice(words) for _ in range(rng.randint(0, 20))]
        entries = [(0, 0.0, (token, "word"), extractor.keyword_idf(token)) for token in tokens]
        for top_k in (0, 2, 5, 10):
            assert accel.tally_terms(entries, top_k)[1] == extractor.keywords(tokens, top_k=top_k)


# --- the whole transform of a post, on each path ----------------------------------------------------


def _use(monkeypatch: pytest.MonkeyPatch, accel) -> None:
    """Point every transform at one implementation, as transforms._accel does at import."""
    monkeypatch.setattr(_accel, "scan", accel.scan)
    monkeypatch.setattr(_accel, "Dictionary", accel.Dictionary)
    monkeypatch.setattr(post_text, "lookup_entries", accel.lookup_entries)
    monkeypatch.setattr(post_text, "tally_terms", accel.tally_terms)
    monkeypatch.setattr(sentiment, "sentiment_pass", accel.sentiment_pass)
    monkeypatch.setattr(weibo_text, "_NORMALIZER", accel.Normalizer(weibo_text._TRANSLATE))


def _analyze_all(texts: list[str], dictionaries: list[Path]) -> list:
    segment._load_backend_cached.cache_clear()  # backends hold a Dictionary of one implementation
    try:
        analyzer = PostTextAnalyzer(
            Segmenter(dictionaries, backend="jieba-c"),
            SentimentScorer.default(),
            confidential=ConfidentialMatcher(["极光X6", "天枢芯片"]),
        )
        return [analyzer.analyze(text, check_confidential=True, original_text="原文太棒了") for text in texts]
    finally:
        segment._load_backend_cached.cache_clear()


@needs_c
def test_posts_analyzed_on_both_paths_are_identical(
    monkeypatch: pytest.MonkeyPatch, brand_dictionary: Path
) -> None:
    texts = SAMPLE + [text for text, _token in PROTECTED] + _generated_texts(1000, seed=3)
    texts += ["#极光X5发布会# 新手机拍照太惊艳了，续航也好[赞][赞]", "转发微博//@某人:真的很垃圾，太差了"]
    results = []
    for accel in (_fastseg, _pyfastseg):
        with monkeypatch.context() as patched:
            _use(patched, accel)
            results.append(_analyze_all(texts, [brand_dictionary]))
    c_results, python_results = results
    for text, expected, got in zip(texts, c_results, python_results, strict=True):
        assert got == expected, repr(text)
        assert repr(got.sentiment) == repr(expected.sentiment) and repr(got.keywords) == repr(
            expected.keywords
        )


def _outcome(function, *args):
    try:
        return ("ok", repr(function(*args)))
    except Exception as error:  # the same exception type, whatever its message
        return ("raised", type(error))


@needs_c
def test_odd_inputs_are_read_or_refused_alike() -> None:
    word = ("极光", "word")
    tally_cases = [
        [(0, 0.0, word, 2)],  # an int idf
        [(0, 0.0, word, True), (0, 0.0, ("手机", "word"), 1.5)],
        [(0, 0.0, word, "2.0")],
        [(0, 0.0, word)],
        [(0, 0.0, ["极光", "word"], 2.0)],
        [(0, 0.0, (1, "word"), 2.0)],
        [(0, 0.0, word, 2.0), "not an entry"],
        [(0, 0.0, ("极光", "word", "x"), 2.0)],
        [(0, 0.0, word, 2.0), (0, 0.0, ("极光", "topic"), 1.0), (0, 0.0, word, 2.0)],  # merged by term
        ((0, 0.0, word, 2.0) for _ in range(3)),
    ]
    for entries in tally_cases:
        entries = list(entries)
        expected = _outcome(_fastseg.tally_terms, entries, 5)
        assert _outcome(_pyfastseg.tally_terms, entries, 5) == expected, entries
    memo = {"好": None, "看": (1, 1.0)}
    for tokens in (["好", "看", "电影"], [], ["好"]):
        assert _pyfastseg.lookup_entries(memo, tokens) == _fastseg.lookup_entries(memo, tokens)
    tables = SentimentScorer.default()._pass_tables
    pass_cases = [
        (["好"], [(1, 1)]),  # an int weight
        (["好", "看"], [(1, 1.0), "x"]),
        (["好", b"x"], [(1, 1.0), (0, 0.0)]),
        (["好"], [(1,)]),
        (["好"], [("1", 1.0)]),
        (["好"], []),
    ]
    for tokens, entries in pass_cases:
        expected = _outcome(_fastseg.sentiment_pass, tokens, entries, tables)
        assert _outcome(_pyfastseg.sentiment_pass, tokens, entries, tables) == expected, (tokens, entries)
