"""The whole per-post transform: one segmentation feeds terms, sentiment, keywords and flags."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.test_transforms_sentiment import TINY, write_tsv
from transforms import post_text
from transforms._accel import lookup_entries, tally_terms
from transforms.confidential import ConfidentialMatcher
from transforms.post_text import PostTextAnalyzer
from transforms.segment import Segmenter, count_terms
from transforms.sentiment import SentimentScorer, read_labelled_tsv, train_model, write_model
from transforms.weibo_text import clean_weibo_text


@pytest.fixture(scope="module")
def analyzer() -> PostTextAnalyzer:
    return PostTextAnalyzer(
        Segmenter(), SentimentScorer.default(), confidential=ConfidentialMatcher(["极光X6", "天枢芯片"])
    )


def test_terms_keywords_and_sentiment_of_own_words(analyzer: PostTextAnalyzer) -> None:
    result = analyzer.analyze("#极光X5发布会# 新手机拍照太惊艳了，续航也好[赞]", check_confidential=True)
    clean = clean_weibo_text("#极光X5发布会# 新手机拍照太惊艳了，续航也好[赞]")
    assert result.term_counts == count_terms(analyzer.segmenter.terms(clean))
    assert result.sentiment.label == "positive"
    assert [keyword for keyword, _ in result.keywords][:5] and all(w > 0 for _, w in result.keywords)
    assert ("#极光X5发布会#", "topic") in result.term_counts
    assert result.confidential_terms == []


def test_brand_posts_are_not_checked(analyzer: PostTextAnalyzer) -> None:
    assert analyzer.analyze("极光X6 下月见", check_confidential=False).confidential_terms is None


def test_a_bare_repost_reads_the_chain_then_the_original(analyzer: PostTextAnalyzer) -> None:
    chain = analyzer.analyze("转发微博//@某人:真的很垃圾，太差了", check_confidential=True)
    assert chain.sentiment.label == "negative"
    original = analyzer.analyze(
        "转发微博", check_confidential=True, original_text="独家：极光X6 下月发布，太惊艳了[哈哈]"
    )
    assert original.sentiment.label == "positive"
    assert original.confidential_terms == ["极光X6"]  # the leak is in the reposted original
    # The author's own words win over the original when they carry sentiment.
    own = analyzer.analyze("失望，不买了", check_confidential=True, original_text="太惊艳了[哈哈]")
    assert own.sentiment.label == "negative"


def test_a_trained_model_also_falls_back_to_the_chain(tmp_path: Path) -> None:
    posts = read_labelled_tsv(write_tsv(tmp_path / "train.tsv", TINY))
    write_model(train_model(posts, Segmenter().tokenize, min_count=1), tmp_path / "model" / "m.json")
    trained = PostTextAnalyzer(
        Segmenter(),
        SentimentScorer.from_model(tmp_path / "model" / "m.json"),
        confidential=ConfidentialMatcher([]),
    )
    result = trained.analyze("转发微博//@某人:耳机坏了，气死我了", check_confidential=False)
    assert result.sentiment.label == "negative"
    assert trained.scorer.score_text("转发微博//@某人:耳机坏了，气死我了").label == "negative"


POSTS = [
    "#极光X5发布会# 新手机拍照太惊艳了，续航也好[赞][赞] 11月23日 3.5万 iPhone 15 Pro @某人 http://t.cn/A6",
    "不是不好吃，就是太贵了！！！2024 的的的 么么哒 很开心啊",
    "转发微博//@某人:真的很垃圾，太差了",
    "",
]


def test_term_counts_and_keywords_are_the_segmenters_and_the_extractors(analyzer: PostTextAnalyzer) -> None:
    for text in POSTS * 2:  # the second round reads the memo
        clean = clean_weibo_text(text)
        tokens = analyzer.segmenter.tokenize(clean.own_text)
        terms = analyzer.segmenter.terms_of_tokens(tokens)
        term_counts = count_terms(terms)
        words = [term.term for term in terms if term.kind == "word"]
        result = analyzer.analyze(text, check_confidential=False)
        assert list(result.term_counts.items()) == list(term_counts.items())  # same order too
        assert result.keywords == analyzer.keyword_extractor.keywords(words, top_k=5)
        if not clean.chain:
            assert result.sentiment == analyzer.scorer.score_tokens(tokens)
        assert analyzer.terms_and_keywords(clean.own_text) == (result.term_counts, result.keywords)


def test_the_token_memo_is_bounded(analyzer: PostTextAnalyzer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(post_text, "_TOKEN_MEMO_LIMIT", 3)
    fresh = PostTextAnalyzer(analyzer.segmenter, analyzer.scorer, confidential=analyzer.confidential)
    for text in POSTS:
        assert fresh.analyze(text, check_confidential=True) == analyzer.analyze(text, check_confidential=True)
        assert len(fresh._token_entries) <= 3


def test_the_original_is_not_segmented_when_the_chain_carries_sentiment(analyzer: PostTextAnalyzer) -> None:
    segmented: list[str] = []
    segmenter = Segmenter()
    tokenize = segmenter.tokenize

    def counting_tokenize(text: str) -> list[str]:
        segmented.append(text)
        return tokenize(text)

    segmenter.tokenize = counting_tokenize  # type: ignore[method-assign]
    counting = PostTextAnalyzer(segmenter, analyzer.scorer, confidential=analyzer.confidential)
    result = counting.analyze("转发微博//@某人:太差了", check_confidential=False, original_text="原文太棒了")
    assert result.sentiment.label == "negative"
    assert "原文太棒了" not in segmented


def test_lookup_entries_is_memo_get_of_each_token() -> None:
    memo = {"好": (1, 1.0), "电影": (0, 0.0)}
    tokens = ["好", "看", "电影", "好", "".join(["电", "影"])]  # the last: an equal str, not the key itself
    assert lookup_entries(memo, tokens) == ([memo.get(token) for token in tokens], 1)
    assert lookup_entries(memo, []) == ([], 0)
    with pytest.raises(TypeError, match="a dict and a list"):
        lookup_entries(memo, ("好",))
    with pytest.raises(TypeError, match="tokens must be str"):
        lookup_entries(memo, [["好"]])

    class Sneaky(str):  # a str subclass could run Python code (and change the list) inside a lookup
        def __eq__(self, other: object) -> bool:
            tokens.clear()
            return False

        __hash__ = str.__hash__

    tokens = [Sneaky("好"), "看"]
    with pytest.raises(TypeError, match="tokens must be str"):
        lookup_entries(memo, tokens)

    class Memo(dict):
        def get(self, key: object, default: object = None) -> object:
            return "not the memo's own get"

    with pytest.raises(TypeError, match="a dict and a list"):
        lookup_entries(Memo(memo), ["好"])


def test_tally_counts_equal_keys_from_distinct_entries_together() -> None:
    # A token's entry is normally one tuple (the analyzer's memo); after the memo is cleared within a
    # post the same token comes with a second, equal entry, and its occurrences must still add up.
    first, again = (0, 0.0, ("好看", "word"), 2.0), (0, 0.0, ("好看", "word"), 2.0)
    film = (0, 0.0, ("电影", "word"), 3.0)
    dropped = (0, 0.0, None, None)
    counts, keywords = tally_terms([first, film, dropped, again, first], 5)
    assert list(counts.items()) == [(("好看", "word"), 3), (("电影", "word"), 1)]
    assert keywords == [("好看", 1.5), ("电影", 0.75)]  # 3 x 2.0 / 4, 1 x 3.0 / 4
    assert tally_terms([first, again], 5) == ({("好看", "word"): 2}, [("好看", 2.0)])  # once each


def test_tally_rounds_weights_as_python_rounds() -> None:
    rng = random.Random(20261123)
    values = [rng.random() * scale for scale in (1e-6, 1e-3, 1.0, 20.0, 1e3, 1e9) for _ in range(2000)]
    values += [(n + 0.5) / 1e6 for n in range(0, 3_000_000, 997)]  # near ties: the slow, exact path
    values += [0.0, 1e-7, 5e-7, 0.0000005, 123456.0000005]
    for value in values:
        _counts, keywords = tally_terms([(0, 0.0, ("词", "word"), value)], 1)
        assert repr(keywords[0][1]) == repr(round(value, 6)), value
