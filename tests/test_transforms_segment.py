"""Segmenter: brand dictionaries keep product names whole, Weibo tokens are never cut."""

import os
import random
import re
from pathlib import Path

import pytest

from shengliang.settings import ConfigError, segmenter_backend
from transforms.segment import (  # _NUMERAL, _MEASURE: the run-end rule, for a reference cut
    _MEASURE,
    _NUMERAL,
    BACKENDS,
    DEFAULT_STOPWORDS_PATH,
    TERM_KINDS,
    Segmenter,
    Term,
    count_terms,
    load_stopwords,
)
from transforms.weibo_text import clean_weibo_text

DICTIONARIES = Path(__file__).resolve().parent.parent / "config" / "dictionaries"
SHANHAI = DICTIONARIES / "shanhai.dict"
JIGUANG = DICTIONARIES / "jiguang.dict"

# Every brand term inside a real-looking sentence.
SHANHAI_SENTENCES = {
    "山海茶饮": "下班去山海茶饮排队买奶茶",
    "云雾乌龙": "这杯云雾乌龙回甘很明显",
    "桂花拿铁": "秋天第一杯桂花拿铁",
    "冷萃茉莉": "夏天就要喝冷萃茉莉才解渴",
    "山海会员日": "周三是山海会员日买一送一",
    "白桃乌龙": "新品白桃乌龙香气很足",
    "芝士岩茶": "朋友推荐的芝士岩茶奶盖超厚",
    "青提茉莉": "青提茉莉少冰少糖",
    "山野柠檬茶": "暴打一杯山野柠檬茶",
    "山海小程序": "用山海小程序点单不用排队",
}
JIGUANG_SENTENCES = {
    "极光手机": "新入手的极光手机续航很顶",
    "极光X5": "极光X5的夜景拍照太强了",
    "星环OS": "升级星环OS以后更流畅",
    "超感光影像": "超感光影像暗光也很干净",
    "极光Pad": "极光Pad追剧屏幕很大",
    "极光Buds": "极光Buds降噪效果不错",
    "极光Watch2": "极光Watch2能测血氧",
    "极光快充": "极光快充半小时充满",
    "星环互联": "手机和平板星环互联传文件很方便",
}


@pytest.fixture(scope="module")
def plain() -> Segmenter:
    return Segmenter()


@pytest.fixture(scope="module")
def shanhai() -> Segmenter:
    return Segmenter(user_dictionaries=[SHANHAI])


@pytest.fixture(scope="module")
def jiguang() -> Segmenter:
    return Segmenter(user_dictionaries=[str(JIGUANG)])


def words(segmenter: Segmenter, raw: str) -> list[str]:
    return [term.term for term in segmenter.terms(clean_weibo_text(raw)) if term.kind == "word"]


def dictionary_terms(path: Path) -> set[str]:
    return {line.split()[0] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}


def test_sentences_cover_every_dictionary_term() -> None:
    assert set(SHANHAI_SENTENCES) == dictionary_terms(SHANHAI)
    assert set(JIGUANG_SENTENCES) == dictionary_terms(JIGUANG)


@pytest.mark.parametrize(("term", "sentence"), SHANHAI_SENTENCES.items())
def test_shanhai_terms_stay_whole_and_need_the_dictionary(
    term: str, sentence: str, shanhai: Segmenter, plain: Segmenter
) -> None:
    assert term in words(shanhai, sentence)
    assert term not in words(plain, sentence)


@pytest.mark.parametrize(("term", "sentence"), JIGUANG_SENTENCES.items())
def test_jiguang_terms_stay_whole_and_need_the_dictionary(
    term: str, sentence: str, jiguang: Segmenter, plain: Segmenter
) -> None:
    assert term in words(jiguang, sentence)
    assert term not in words(plain, sentence)


def test_exact_segmentation_with_and_without_dictionary(shanhai: Segmenter, plain: Segmenter) -> None:
    sentence = "今天在山海茶饮买了云雾乌龙和桂花拿铁，山海会员日真划算"
    assert words(shanhai, sentence) == ["山海茶饮", "买", "云雾乌龙", "桂花拿铁", "山海会员日", "划算"]
    assert words(plain, sentence) == [
        "山海",
        "茶",
        "饮",
        "买",
        "云雾",
        "乌龙",
        "桂花",
        "拿",
        "铁",
        "山海",
        "会员",
        "日真",
        "划算",
    ]


def test_mixed_latin_digit_terms(jiguang: Segmenter) -> None:
    sentence = "极光X5和极光x5还有星环os，极光X50不是极光X5，极光X5Pro也不是"
    # Lower-case spellings count too; a longer Latin/digit run is another product, not 极光X5.
    assert words(jiguang, sentence) == ["极光X5", "极光x5", "星环os", "极光X50", "极光X5", "极光X5Pro"]
    assert words(jiguang, "极光X5 Pro的星环OS") == ["极光X5", "Pro", "星环OS"]


def test_weibo_tokens_are_never_cut(jiguang: Segmenter) -> None:
    clean = clean_weibo_text(
        "#极光X5开箱测评# 谢谢@极光手机官方微博 送的极光Pad[哈哈][哈哈] 详情 http://t.cn/A6xYz12b 。"
    )
    assert jiguang.terms(clean) == [
        Term("#极光X5开箱测评#", "topic"),
        Term("谢谢", "word"),
        Term("@极光手机官方微博", "mention"),
        Term("送", "word"),
        Term("极光Pad", "word"),
        Term("[哈哈]", "emoticon"),
        Term("[哈哈]", "emoticon"),
        Term("详情", "word"),
        Term("http://t.cn/A6xYz12b", "link"),
    ]


def test_only_own_text_is_segmented(shanhai: Segmenter) -> None:
    clean = clean_weibo_text("强烈同意//@茶友小王:桂花拿铁也不错")
    assert shanhai.terms(clean) == [Term("强烈", "word"), Term("同意", "word")]


def test_repost_with_html_example(shanhai: Segmenter) -> None:
    raw = (
        '今天的<a href="https://m.weibo.cn/search?containerid=231522type%3D1%26q%3D%23新品%23">#山海茶饮新品#</a>'
        '云雾乌龙太好喝了<img class="face" alt="[哈哈]" src="//h5.sinaimg.cn/x.png">，感谢'
        '<a href="/n/山海茶饮官方微博">@山海茶饮官方微博</a>&nbsp;详情戳<a href="http://t.cn/A6xYz12b">网页链接</a>'
        " &lt;限量&gt;//@茶友小王：桂花拿铁也不错[赞]//@山海茶饮官方微博:转发微博"
    )
    assert shanhai.terms(clean_weibo_text(raw)) == [
        Term("#山海茶饮新品#", "topic"),
        Term("云雾乌龙", "word"),
        Term("好喝", "word"),
        Term("[哈哈]", "emoticon"),
        Term("感谢", "word"),
        Term("@山海茶饮官方微博", "mention"),
        Term("详情", "word"),
        Term("戳", "word"),
        Term("http://t.cn/A6xYz12b", "link"),
        Term("限量", "word"),
    ]


def test_stopwords_punctuation_digits_and_whitespace_are_dropped(plain: Segmenter) -> None:
    assert words(plain, "转发微博") == []
    # Bare numbers go; a number with its unit and a date are terms of their own kinds.
    raw = "我也是在2018年喝的,真的很好喝~~ 2018 3.5分!!! 展开全文"
    assert words(plain, raw) == ["喝", "好喝"]
    assert [term for term in plain.terms(clean_weibo_text(raw)) if term.kind != "word"] == [
        Term("2018年", "date"),
        Term("3.5分", "number"),
    ]


def test_words_keep_their_case(plain: Segmenter) -> None:
    assert words(plain, "iPhone和Android") == ["iPhone", "Android"]


def test_custom_stopwords_replace_the_shipped_list() -> None:
    segmenter = Segmenter(stopwords=["好喝", "", "  "])
    assert segmenter.stopwords == frozenset({"好喝"})
    assert words(segmenter, "我觉得好喝") == ["我", "觉得"]


def test_shipped_stopword_list() -> None:
    stopwords = load_stopwords(DEFAULT_STOPWORDS_PATH)
    assert 200 <= len(stopwords) <= 400
    assert {
        "转发微博",
        "网页链接",
        "全文",
        "的",
        "了",
        "是",
        "在",
        "我",
        "你",
        "也",
        "就",
        "都",
        "和",
    } <= stopwords
    assert {"啊", "吧", "呢", "哦"} <= stopwords
    assert not any(word.startswith("#") for word in stopwords)


def test_segmenters_do_not_leak_into_each_other(shanhai: Segmenter, jiguang: Segmenter) -> None:
    # Build both tokenizers first, then check each lacks the other's terms.
    assert words(shanhai, "山海茶饮") == ["山海茶饮"]
    assert words(jiguang, "极光手机") == ["极光手机"]
    assert words(shanhai, "极光X5的星环OS") == ["极光", "X5", "星环", "OS"]
    assert words(jiguang, "山海茶饮的云雾乌龙") == ["山海", "茶", "饮", "云雾", "乌龙"]
    assert Segmenter().terms(clean_weibo_text("山海茶饮")) == [
        Term("山海", "word"),
        Term("茶", "word"),
        Term("饮", "word"),
    ]


def test_two_dictionaries_in_one_segmenter() -> None:
    both = Segmenter(user_dictionaries=[SHANHAI, JIGUANG])
    assert words(both, "用极光X5拍山海茶饮") == ["极光X5", "拍", "山海茶饮"]


def test_count_terms_counts_repeats(shanhai: Segmenter) -> None:
    terms = shanhai.terms(clean_weibo_text("云雾乌龙好喝，云雾乌龙真香[哈哈][哈哈] #云雾乌龙# @云雾乌龙"))
    assert count_terms(terms) == {
        ("云雾乌龙", "word"): 2,
        ("好喝", "word"): 1,
        ("真香", "word"): 1,
        ("[哈哈]", "emoticon"): 2,
        ("#云雾乌龙#", "topic"): 1,
        ("@云雾乌龙", "mention"): 1,
    }
    assert count_terms([]) == {}


def test_files_are_read_only_at_construction(tmp_path: Path) -> None:
    dictionary = tmp_path / "brand.dict"
    dictionary.write_text("\ufeff云朵奶盖 20000 nz\n\n", encoding="utf-8")
    stopwords = tmp_path / "stopwords.txt"
    stopwords.write_text("# my list\n的\n", encoding="utf-8")
    segmenter = Segmenter(user_dictionaries=[dictionary], stopwords=load_stopwords(stopwords))
    dictionary.unlink()
    stopwords.unlink()
    assert words(segmenter, "店里的云朵奶盖") == ["店里", "云朵奶盖"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("极光X5 Pro 20000 nz", "a word without spaces"),
        ("山海·茶饮 20000", "cannot keep"),
        ("山海茶饮 0", "freq 0"),
        ("山海 100 NZ", "lower-case part-of-speech tag"),
    ],
)
def test_bad_dictionary_lines_raise(tmp_path: Path, line: str, message: str) -> None:
    dictionary = tmp_path / "bad.dict"
    dictionary.write_text(f"山海茶饮 20000 nz\n{line}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=message) as error:
        Segmenter(user_dictionaries=[dictionary])
    assert "bad.dict:2" in str(error.value)


def test_dictionary_line_without_freq_or_tag(tmp_path: Path) -> None:
    dictionary = tmp_path / "brand.dict"
    dictionary.write_text("云朵奶盖\n桃桃冰沙 nz\n", encoding="utf-8")
    segmenter = Segmenter(user_dictionaries=[dictionary])
    assert words(segmenter, "云朵奶盖配桃桃冰沙") == ["云朵奶盖", "配", "桃桃冰沙"]


def test_one_path_instead_of_a_sequence_is_refused() -> None:
    with pytest.raises(TypeError):
        Segmenter(user_dictionaries=SHANHAI)  # type: ignore[arg-type]


# --- Weibo-aware tokenize(): protected tokens stay whole ---------------------------------------------

PROTECTED = [
    ("超话#山海茶饮新品#上线", "#山海茶饮新品#"),
    ("谢谢@极光手机官方微博 送的", "@极光手机官方微博"),
    ("太好喝了[哈哈][赞]", "[哈哈]"),
    ("详情戳http://t.cn/A6xYz12b。", "http://t.cn/A6xYz12b"),
    ("粉丝涨到3.5万了", "3.5万"),
    ("一杯100元太贵", "100元"),
    ("销量涨了20%！", "20%"),
    ("市值10亿欧元", "10亿"),
    ("支持5G的手机", "5G"),
    ("2026年11月23日发布", "2026年11月23日"),
    ("11月23日见", "11月23日"),
    ("定在2026-11-23上市", "2026-11-23"),
    ("今晚20:30直播", "20:30"),
    ("升级到v2.3.1以后", "v2.3.1"),
    ("升级iOS 17后卡了", "iOS 17"),
    ("买了iPhone 15 Pro真香", "iPhone 15 Pro"),
    ("华为Mate60遥遥领先", "Mate60"),
    ("等了好久……终于", "……"),
    ("太好了！！！", "！！！"),
    ("日文カタカナ也行", "カタカナ"),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("text", "token"), PROTECTED)
def test_protected_tokens_stay_whole(text: str, token: str, backend: str) -> None:
    assert token in Segmenter(backend=backend).tokenize(text)


def test_tokenize_keeps_punctuation_drops_whitespace(plain: Segmenter) -> None:
    assert plain.tokenize("好喝， 真的 好喝 。") == ["好喝", "，", "真的", "好喝", "。"]
    assert plain.tokenize("") == []
    assert plain.tokenize("   ") == []


def test_tokenize_exact_sentence(plain: Segmenter) -> None:
    sentence = "#极光X5开箱# @小王 买了iPhone 15 Pro Max，3.5万元！！v2.3.1版本[哈哈]"
    assert plain.tokenize(sentence) == [
        "#极光X5开箱#", "@小王", "买", "了", "iPhone 15 Pro Max", "，", "3.5万", "元", "！！",
        "v2.3.1", "版本", "[哈哈]",
    ]  # fmt: skip


def test_lowercase_word_does_not_take_a_number(plain: Segmenter) -> None:
    assert plain.tokenize("in 2019") == ["in", "2019"]


def test_numerals_and_measure_words_split_as_the_standard_does(plain: Segmenter) -> None:
    assert plain.tokenize("我有一个朋友") == ["我", "有", "一", "个", "朋友"]
    assert plain.tokenize("这不是第一次") == ["这", "不", "是", "第一", "次"]


def test_user_terms_with_latin_and_digits_stay_whole_in_tokenize(jiguang: Segmenter) -> None:
    assert jiguang.tokenize("新的极光X5和极光watch2") == ["新", "的", "极光X5", "和", "极光watch2"]
    assert jiguang.tokenize("极光X50不是极光X5") == ["极光X50", "不", "是", "极光X5"]


def test_term_kinds_are_declared(plain: Segmenter) -> None:
    terms = plain.terms(clean_weibo_text("#话题# @某人 [哈哈] http://t.cn/x 3.5万 11月23日 iPhone"))
    assert {term.kind for term in terms} <= set(TERM_KINDS)
    assert {"number", "date"} <= set(TERM_KINDS)


# --- the two backends ---------------------------------------------------------------------------

SAMPLE = [
    "今天天气真好，我们去公园散步吧",
    "我来到北京清华大学",
    "他来到了网易杭研大厦",
    "小明硕士毕业于中国科学院计算所，后在日本京都大学深造",
    "这个手机的续航太差了，充一次电用不了半天",
    "转发微博",
    "哈哈哈哈哈哈笑死我了",
    "结婚的和尚未结婚的",
    "南京市长江大桥",
    "新品上市第一天就卖断货了",
    "吐槽一下这家店的服务态度",
    "山海茶饮的云雾乌龙真好喝",
    "极光X5的夜景拍照太强了",
    "下雨天留客天留我不留",
    "工信处女干事每月经过下属科室都要亲口交代",
    "我爱自然语言处理",
    "打call打call！！给小哥哥疯狂打call",
    "这波操作666，绝绝子",
    "明天下午三点在朝阳区开会",
    "他说的确实在理",
]


@pytest.fixture(scope="module")
def brand_dictionary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dict") / "brand.dict"
    path.write_text("山海茶饮 20000 nz\n云雾乌龙 nz\n极光X5 20000\n绝绝子\n天留\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("backend", ["jieba-c", "rjieba"])
@pytest.mark.parametrize("with_dictionary", [False, True])
def test_backends_give_the_same_tokens(backend: str, with_dictionary: bool, brand_dictionary: Path) -> None:
    dictionaries = [brand_dictionary] if with_dictionary else []
    jieba_segmenter = Segmenter(dictionaries, backend="jieba")
    fast_segmenter = Segmenter(dictionaries, backend=backend)
    for text in SAMPLE:
        assert fast_segmenter.backend_cut(text) == jieba_segmenter.backend_cut(text), text
        assert fast_segmenter.tokenize(text) == jieba_segmenter.tokenize(text), text
    if with_dictionary:
        assert "山海茶饮" in fast_segmenter.tokenize("山海茶饮的云雾乌龙真好喝")
        assert "云雾乌龙" in fast_segmenter.tokenize("山海茶饮的云雾乌龙真好喝")


# Character pools for generated text: Chinese (common, numerals, measure words, the adverbs and modals
# of the run rules), marks, emoji, Latin, digits, full-width forms, kana, hangul, Extension A, the
# characters jieba glues to Han, pieces of Weibo tokens and of user terms.
_POOLS = [
    "的是了我不在人有这个上们来到时大地为子中你说生国年着就那和要她出也得里后自以会家可下而过天去能对小多然于",
    "一两三四五六七八九十几这那哪每某",
    "个名次种位只件条张款场份批项",
    "不就也都又才是能要会敢",
    "，。！？、：；…—“”（）《》~～😂❤\ufe0f👍🏻/",
    "abcXYZv",
    "0123456789",
    "#@[]",
    " \t\n\r\u3000",
    "ＡＢ１２",
    "あいカタ한국・゛゠\ud7a4",
    ".-_+&%:",
    "http://t.cn/",
    "İKſé𠀀㐀\u9fe0\uf900",
]
_TERM_PIECES = "极光X5三只松鼠星环os不二家abc中文一个人mate60也是山海茶饮"


def _generated_texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 12)):
            if rng.random() < 0.15:
                start = rng.randrange(len(_TERM_PIECES))
                parts.append(_TERM_PIECES[start : start + rng.randint(1, 6)])
            else:
                pool = rng.choice(_POOLS)
                parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 4))))
        texts.append("".join(parts))
    return texts


# Edges of the tokens the C scanner matches itself ([emoticon], @mention, repeated marks).
_SCANNER_EDGES = [
    "[哈哈]",
    "[一二三四五六七八]",
    "[一二三四五六七八九]",
    "[]",
    "[[哈哈]]",
    "[哈哈",
    "[ok][OK1][a-b]",
    "[㐀]",
    "@小明",
    "ab@小明",
    "_@小明",
    "。@小明:",
    "@" + "明" * 31,
    "@@小明",
    "@",
    "//@小明://@小红:转发",
    "！！！？？",
    "😂😂😂",
    "~~～～",
    "[[[",
    "太可爱了・・・かわいい",  # kana/hangul runs come before a punctuation run, marks (・) included
    "゛゛が゠゠ア\ud7a4\ud7a4한・か",
]


@pytest.mark.parametrize("backend", BACKENDS)
def test_c_scanner_equals_the_regex_reference(backend: str, tmp_path: Path) -> None:
    dictionary = tmp_path / "terms.dict"
    terms = ["极光X5 100 nz", "三只松鼠", "星环OS", "不二家", "abc中文", "一个人", "Mate60", "也是"]
    dictionary.write_text("\n".join(terms) + "\n", encoding="utf-8")
    texts = _SCANNER_EDGES + _RUN_TEXTS + [text for text, _token in PROTECTED] + SAMPLE
    texts += _generated_texts(3000 if backend != "jieba" else 300, seed=20261123)
    for segmenter in (Segmenter(backend=backend), Segmenter([dictionary], backend=backend)):
        for text in texts:
            assert segmenter.tokenize(text) == segmenter.reference_tokenize(text), text
    # Eight characters make an emoticon, nine do not; a mention takes up to 30.
    assert "[一二三四五六七八]" in Segmenter(backend=backend).tokenize("好[一二三四五六七八]")
    tokens = Segmenter(backend=backend).tokenize("[一二三四五六七八九]@小明")
    assert (tokens[0], tokens[-2:]) == ("[", ["]", "@小明"])
    assert Segmenter(backend=backend).tokenize("@" + "明" * 31)[0] == "@" + "明" * 30


def test_c_backend_cuts_exactly_as_jieba(brand_dictionary: Path) -> None:
    texts = SAMPLE + _RUN_TEXTS + _generated_texts(2000, seed=7) + ["\r\n好\r\n", "ab.12%好3.5好"]
    for dictionaries in ([], [brand_dictionary]):
        reference = Segmenter(dictionaries, backend="jieba")
        c_port = Segmenter(dictionaries, backend="jieba-c")
        for text in texts:
            assert c_port.backend_cut(text) == reference.backend_cut(text), text


def test_rjieba_user_words_do_not_leak(brand_dictionary: Path) -> None:
    with_terms = Segmenter([brand_dictionary], backend="rjieba")
    without = Segmenter(backend="rjieba")
    assert "山海茶饮" in with_terms.tokenize("山海茶饮")
    assert "山海茶饮" not in without.tokenize("山海茶饮")


def test_backend_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHENGLIANG_SEGMENTER", raising=False)
    assert segmenter_backend() == "jieba-c"
    assert Segmenter().backend == "jieba-c"
    monkeypatch.setenv("SHENGLIANG_SEGMENTER", "jieba")
    assert segmenter_backend() == "jieba"
    assert Segmenter().backend == "jieba"
    assert Segmenter(backend="rjieba").backend == "rjieba"


def test_bad_backend_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHENGLIANG_SEGMENTER", "pkuseg")
    with pytest.raises(ConfigError, match="SHENGLIANG_SEGMENTER.*jieba-c, rjieba or jieba"):
        segmenter_backend()
    with pytest.raises(ConfigError):
        Segmenter()
    with pytest.raises(ValueError, match="unknown segmenter backend"):
        Segmenter(backend="pkuseg")
    assert "SHENGLIANG_SEGMENTER" in os.environ


# tokenize() hands the backend Chinese runs together with the lone marks between them in one call; it
# must give what cutting each run alone gives, with each mark, emoji and odd character one token.
_RUN_TEXTS = [
    "好，很好！真的吗？😂👍🏻哈哈。",
    "一个人不是也是，这种就是都是",
    "好.好-好_好+好&好%好#好，好.-好+&%好",
    "好㐀好\u9fe0好，丽\uf900好",
    "好привет好é。《三体》“好看”",
    "这个新款不错……真的～～好——",
    "好\x1c很好\u3000真 的\t好",
]


_RUN_END = re.compile(rf"(?<=[{_NUMERAL}])(?=[{_MEASURE}])|(?<=不)(?=[是能要会敢])|(?<=[就也都又才])(?=是)")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("text", _RUN_TEXTS)
def test_one_backend_call_per_text_matches_cutting_each_run(text: str, backend: str) -> None:
    segmenter = Segmenter(backend=backend)
    expected: list[str] = []
    for match in re.finditer(r"[\u4e00-\u9fd5]+|([^\w\s])\1+|\s+|.", text):
        if "\u4e00" <= match[0][0] <= "\u9fd5":
            for run in _RUN_END.split(match[0]):
                expected += segmenter.backend_cut(run)
        elif not match[0].isspace():
            expected.append(match[0])
    assert segmenter.tokenize(text) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "#山海茶饮新品#今天喝到了冷萃茉莉，真的好喝[哈哈] @小山同学 http://t.cn/A6abcd",
            [
                ("#山海茶饮新品#", "topic"),
                ("喝到", "word"),
                ("冷萃茉莉", "word"),
                ("好喝", "word"),
                ("[哈哈]", "emoticon"),
                ("@小山同学", "mention"),
                ("http://t.cn/A6abcd", "link"),
            ],
        ),
        (
            "2026年11月23日发布iPhone 15 Pro，售价5999元，涨了20%！！！",
            [
                ("2026年11月23日", "date"),
                ("发布", "word"),
                ("iPhone 15 Pro", "word"),
                ("售价", "word"),
                ("5999元", "number"),
                ("涨", "word"),
                ("20%", "number"),
            ],
        ),
        (
            "我不是说了吗，这个版本v2.3.1就是不行……转发微博",
            [("版本", "word"), ("v2.3.1", "word"), ("不行", "word")],
        ),
        ("", []),
    ],
)
def test_terms_their_counts_and_words_from_one_tokenization(raw: str, expected: list, tmp_path) -> None:
    from transforms.weibo_text import clean_weibo_text

    dictionary = tmp_path / "brand.dict"
    dictionary.write_text("冷萃茉莉 10 n\n极光X5\n", encoding="utf-8")
    segmenter = Segmenter(user_dictionaries=[dictionary])
    clean = clean_weibo_text(raw)
    assert [(term.term, term.kind) for term in segmenter.terms(clean)] == expected
    # The remembered kinds give the same answer the second time.
    assert [(term.term, term.kind) for term in segmenter.terms(clean)] == expected
    terms = segmenter.terms_of_tokens(segmenter.tokenize(clean.own_text))
    assert count_terms(terms) == {pair: 1 for pair in expected}
    words = [term.term for term in terms if term.kind == "word"]
    assert words == [term for term, kind in expected if kind == "word"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_all_chinese_user_terms_across_run_boundaries_stay_whole(backend: str, tmp_path) -> None:
    from transforms.weibo_text import clean_weibo_text

    dictionary = tmp_path / "brand.dict"
    dictionary.write_text("三只松鼠 1000 nz\n两个黄鹂\n不二家\n喝一杯\n", encoding="utf-8")
    segmenter = Segmenter(user_dictionaries=[dictionary], backend=backend)
    assert segmenter.tokenize("我最爱三只松鼠的坚果") == ["我", "最", "爱", "三只松鼠", "的", "坚果"]
    assert segmenter.tokenize("两个黄鹂鸣翠柳")[0] == "两个黄鹂"
    assert segmenter.tokenize("不二家的糖")[0] == "不二家"
    assert "喝一杯" in segmenter.tokenize("想喝一杯奶茶")
    assert segmenter.tokenize("我买了三只小狗")[3:5] == ["三", "只"]  # the rule still holds elsewhere
    clean = clean_weibo_text("我最爱三只松鼠的坚果，想喝一杯")
    assert [term.term for term in segmenter.terms(clean)] == ["爱", "三只松鼠", "坚果", "喝一杯"]


def test_too_large_a_user_freq_is_a_dictionary_error(tmp_path: Path) -> None:
    dictionary = tmp_path / "huge.dict"
    dictionary.write_text("极光超大 99999999999999999999 nz\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"huge.dict:1: freq 99999999999999999999 .* too large"):
        Segmenter([dictionary])


def test_a_dictionary_whose_init_failed_cannot_cut() -> None:
    import jieba.finalseg

    from transforms._accel import Dictionary

    broken = Dictionary.__new__(Dictionary)
    with pytest.raises(KeyError):
        broken.__init__({"中": 1}, 1, jieba.finalseg.start_P, {}, jieba.finalseg.emit_P)
    with pytest.raises(RuntimeError, match="not initialized"):
        broken.cut("中文")


def test_a_dictionary_whose_init_failed_early_cannot_be_initialized_again() -> None:
    import jieba.finalseg

    from transforms._accel import Dictionary

    tables = (jieba.finalseg.start_P, jieba.finalseg.trans_P, jieba.finalseg.emit_P)
    broken = Dictionary.__new__(Dictionary)
    with pytest.raises(OverflowError):  # fails while reading freq, before the trie is built
        broken.__init__({"中": 1 << 70}, 1, *tables)
    with pytest.raises(RuntimeError, match="already initialized"):  # and allocates nothing again
        broken.__init__({"中": 1}, 1, *tables)
    with pytest.raises(RuntimeError, match="not initialized"):
        broken.cut("中文")
