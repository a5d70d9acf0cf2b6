"""The whole text transform of one post: clean, segment, sentiment, keywords, confidential flags.

`PostTextAnalyzer` holds the per-brand segmenter and the shared scorer, keyword extractor and
confidential matcher; `analyze` is what the pipeline (and bench/text.py) runs for every post.
"""

from __future__ import annotations

from dataclasses import dataclass

from transforms.confidential import ConfidentialMatcher
from transforms.keywords import KeywordExtractor
from transforms.segment import Segmenter
from transforms.sentiment import Sentiment, SentimentScorer, configured_scorer
from transforms.weibo_text import CleanText, clean_weibo_text

__all__ = ["KEYWORDS_PER_POST", "PostText", "PostTextAnalyzer"]

KEYWORDS_PER_POST = 5


@dataclass(frozen=True)
class PostText:
    clean: CleanText
    term_counts: dict[tuple[str, str], int]  # (term, kind) -> occurrences in the own words
    sentiment: Sentiment
    keywords: list[tuple[str, float]]  # (keyword, TF-IDF weight), highest first
    confidential_terms: list[str] | None  # None when not checked (brand posts)


class PostTextAnalyzer:
    """One brand's text transform; build once per brand, call `analyze` per post."""

    def __init__(
        self,
        segmenter: Segmenter,
        scorer: SentimentScorer | None = None,
        keyword_extractor: KeywordExtractor | None = None,
        confidential: ConfidentialMatcher | None = None,
    ) -> None:
        self.segmenter = segmenter
        self.scorer = scorer or configured_scorer()
        self.keyword_extractor = keyword_extractor or KeywordExtractor(stopwords=segmenter.stopwords)
        self.confidential = confidential or ConfidentialMatcher.from_config()

    def analyze(self, raw_text: str, *, check_confidential: bool) -> PostText:
        """`check_confidential` (employee posts) matches the confidential lexicon over the whole text,
        repost chain included: an employee who reposts a leak spreads it too."""
        clean = clean_weibo_text(raw_text)
        return self.analyze_clean(clean, check_confidential=check_confidential)

    def analyze_clean(self, clean: CleanText, *, check_confidential: bool) -> PostText:
        tokens = self.segmenter.tokenize(clean.own_text) if clean.own_text else []
        sentiment = self.scorer.score_tokens(tokens)
        if sentiment.score == 0 and clean.chain:
            # Own words without sentiment ("转发微博"): the post passes on what the chain says.
            chain_tokens: list[str] = []
            for link in clean.chain:
                chain_tokens += self.segmenter.tokenize(link.text)
                chain_tokens.append("。")  # windows never cross from one link to the next
            sentiment = self.scorer.score_tokens(chain_tokens)
        term_counts, words = self.segmenter.term_counts_of_tokens(tokens)
        keywords = self.keyword_extractor.keywords(words, top_k=KEYWORDS_PER_POST)
        found = self.confidential.find(clean.text) if check_confidential else None
        return PostText(clean, term_counts, sentiment, keywords, found)
