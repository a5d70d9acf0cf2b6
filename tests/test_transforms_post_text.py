"""The whole per-post transform: one segmentation feeds terms, sentiment, keywords and flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_transforms_sentiment import TINY, write_tsv
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
