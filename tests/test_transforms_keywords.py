"""KeywordExtractor: TF-IDF with jieba's IDF table, ordering, ties, unknown terms, agreement with jieba."""

from __future__ import annotations

from pathlib import Path

import jieba
import jieba.analyse
import pytest

from transforms._accel import tally_terms
from transforms.keywords import KeywordExtractor, default_idf_path, load_idf


@pytest.fixture(scope="module")
def extractor() -> KeywordExtractor:
    return KeywordExtractor()


def test_default_idf_table_is_jiebas_and_read_once() -> None:
    table = load_idf()
    assert table.path == default_idf_path()
    assert table is load_idf(None) is load_idf(default_idf_path())
    assert len(table.idf) > 200_000
    assert table.median_idf == jieba.analyse.default_tfidf.median_idf


def test_weight_is_tf_times_idf(extractor: KeywordExtractor) -> None:
    idf = extractor.idf_table.idf
    tokens = ["手机", "手机", "发布", "旗舰"]
    counts = {"手机": 2, "发布": 1, "旗舰": 1}
    expected = {term: round(count * idf[term] / 4, 6) for term, count in counts.items()}
    assert dict(extractor.keywords(tokens, top_k=10)) == expected


def test_order_is_weight_desc_and_top_k_cuts(extractor: KeywordExtractor) -> None:
    tokens = ["数据仓库", "查询", "查询", "迁移", "运维"]
    result = extractor.keywords(tokens, top_k=10)
    weights = [weight for _, weight in result]
    assert weights == sorted(weights, reverse=True)
    assert extractor.keywords(tokens, top_k=2) == result[:2]
    assert extractor.keywords(tokens, top_k=0) == []


def test_ties_are_ordered_by_term_whatever_the_token_order(extractor: KeywordExtractor) -> None:
    # Unknown terms all get the median IDF, so equal counts give equal weights.
    tokens = ["zz乙未知", "zz甲未知", "zz丙未知"]
    result = extractor.keywords(tokens)
    assert [term for term, _ in result] == sorted(tokens)
    assert len({weight for _, weight in result}) == 1
    assert extractor.keywords(list(reversed(tokens))) == result


def test_unknown_terms_get_the_median_idf(extractor: KeywordExtractor) -> None:
    median = extractor.idf_table.median_idf
    assert extractor.keywords(["星环OS未知词"]) == [("星环OS未知词", round(median, 6))]


def test_short_numeric_punctuation_and_stopword_tokens_are_skipped() -> None:
    extractor = KeywordExtractor(stopwords={"OK"})
    tokens = ["好", "2024", "3.5", "……", "!!", " ", "ok", "极光", "极光"]
    # tf counts only kept tokens: "极光" is the only one, so tf = 1.
    assert extractor.keywords(tokens) == [("极光", round(extractor.idf_table.get("极光"), 6))]


def test_empty_and_all_skipped_input_give_no_keywords(extractor: KeywordExtractor) -> None:
    assert extractor.keywords([]) == []
    assert extractor.keywords(["的", "2024", "。。"]) == []


def test_negative_top_k_is_refused(extractor: KeywordExtractor) -> None:
    with pytest.raises(ValueError, match="top_k"):
        extractor.keywords(["极光"], top_k=-1)


def test_custom_idf_table_and_its_errors(tmp_path: Path) -> None:
    table = tmp_path / "idf.txt"
    table.write_text("极光 2.0\n山海 4.0\n茶饮 6.0\n", encoding="utf-8")
    extractor = KeywordExtractor(idf_path=table)
    assert extractor.idf_table.median_idf == 4.0
    # "新词" is unknown: median IDF 4.0, tied with "山海" and ordered after it by term.
    assert extractor.keywords(["极光", "山海", "新词"]) == [
        ("山海", 1.333333),
        ("新词", 1.333333),
        ("极光", 0.666667),
    ]
    bad = tmp_path / "bad.txt"
    bad.write_text("极光 2.0\n山海 many\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.txt:2: "):
        load_idf(bad)


@pytest.mark.parametrize(
    "sentence",
    [
        "极光手机今天发布了新一代旗舰手机，搭载自研芯片，影像系统表现惊艳，续航和快充都有明显提升",
        "山海茶饮的桂花拿铁和云雾乌龙是今年秋天最受欢迎的饮品，门店排队两小时才买到",
        "我们公司的数据仓库迁移到新的云平台以后，查询速度提升了三倍，运维成本明显下降",
    ],
)
def test_agrees_with_jieba_analyse_extract_tags(extractor: KeywordExtractor, sentence: str) -> None:
    tokens = list(jieba.cut(sentence))
    reference = jieba.analyse.extract_tags(sentence, topK=None, withWeight=True)
    ours = extractor.keywords(tokens, top_k=len(reference) + 5)
    # Same terms, same weights (jieba's unrounded); the top 5 agree up to the order of exact ties.
    assert dict(ours) == {term: round(weight, 6) for term, weight in reference}
    reference_top = sorted(reference, key=lambda item: (-item[1], item[0]))[:5]
    assert [term for term, _ in ours[:5]] == [term for term, _ in reference_top]


def test_keyword_idf_and_the_c_tally_rank_as_keywords_does() -> None:
    extractor = KeywordExtractor(stopwords={"OK"})
    assert [extractor.keyword_idf(token) for token in ["好", "2024", "……", "ok"]] == [None] * 4
    assert extractor.keyword_idf("极光") == extractor.idf_table.get("极光")
    assert extractor.keyword_idf("星环OS未知词") == extractor.idf_table.median_idf
    tokens = ["极光", "手机", "极光", "发布", "旗舰", "影像", "续航"]
    # tally_terms reads (.., .., (term, kind), idf) entries, as transforms.post_text builds them.
    entries = [(0, 0.0, (token, "word"), extractor.keyword_idf(token)) for token in tokens]
    for top_k in (0, 2, 5, 10):
        assert tally_terms(entries, top_k)[1] == extractor.keywords(tokens, top_k=top_k)
    assert tally_terms([], 5) == ({}, [])
