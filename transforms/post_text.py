"""The whole text transform of one post: clean, segment, sentiment, keywords, confidential flags.

`PostTextAnalyzer` holds the per-brand segmenter and the shared scorer, keyword extractor and
confidential matcher; `analyze` is what the pipeline (and bench/text.py) runs for every post.
"""

from __future__ import annotations

from dataclasses import dataclass

from transforms.confidential import ConfidentialMatcher
from transforms.keywords import KeywordExtractor
from transforms.segment import Segmenter
from transforms.sentiment import Sentiment, SentimentScorer, chain_tokens, configured_scorer
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

    def analyze(
        self, raw_text: str, *, check_confidential: bool, original_text: str | None = None
    ) -> PostText:
        """One post. `original_text` is the text of the post it reposts (Weibo's retweeted_status),
        which the `//@` chain does not hold."""
        original = clean_weibo_text(original_text) if original_text else None
        return self.analyze_clean(
            clean_weibo_text(raw_text), check_confidential=check_confidential, original=original
        )

    def analyze_clean(
        self, clean: CleanText, *, check_confidential: bool, original: CleanText | None = None
    ) -> PostText:
        """Sentiment reads the author's own words; when they carry none ("转发微博"), the repost chain,
        then the reposted original, as `shengliang sentiment eval` does. `check_confidential`
        (employee posts) matches the lexicon over the whole text and the reposted original: an
        employee who reposts a leak spreads it too."""
        tokenize = self.segmenter.tokenize
        tokens = tokenize(clean.own_text) if clean.own_text else []
        sentiment, has_signal = self.scorer.score_with_signal(tokens)
        if not has_signal:
            for fallback in self._fallback_tokens(clean, original):
                fallback_sentiment, fallback_signal = self.scorer.score_with_signal(fallback)
                if fallback_signal:
                    sentiment = fallback_sentiment
                    break
        term_counts, keywords = self._terms_and_keywords(tokens)
        found = None
        if check_confidential:
            found = self.confidential.find(clean.text)
            if original is not None:
                found = list(dict.fromkeys(found + self.confidential.find(original.text)))
        return PostText(clean, term_counts, sentiment, keywords, found)

    def terms_and_keywords(self, text: str) -> tuple[dict[tuple[str, str], int], list[tuple[str, float]]]:
        """Term counts and keywords alone (WeChat articles: no sentiment, no confidential check)."""
        return self._terms_and_keywords(self.segmenter.tokenize(text))

    def _terms_and_keywords(
        self, tokens: list[str]
    ) -> tuple[dict[tuple[str, str], int], list[tuple[str, float]]]:
        term_counts, words = self.segmenter.term_counts_of_tokens(tokens)
        return term_counts, self.keyword_extractor.keywords(words, top_k=KEYWORDS_PER_POST)

    def _fallback_tokens(self, clean: CleanText, original: CleanText | None) -> list[list[str]]:
        fallbacks = []
        if clean.chain:
            fallbacks.append(chain_tokens(clean.chain, self.segmenter.tokenize))
        if original is not None and original.own_text:
            fallbacks.append(self.segmenter.tokenize(original.own_text))
        return fallbacks
