"""The whole text transform of one post: clean, segment, sentiment, keywords, confidential flags.

`PostTextAnalyzer` holds the per-brand segmenter and the shared scorer, keyword extractor and
confidential matcher; `analyze` is what the pipeline (and bench/text.py) runs for every post.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

from transforms._accel import lookup_entries, tally_terms
from transforms.confidential import ConfidentialMatcher
from transforms.keywords import KeywordExtractor
from transforms.segment import Segmenter
from transforms.sentiment import Sentiment, SentimentScorer, chain_tokens, configured_scorer
from transforms.weibo_text import CleanText, clean_weibo_text, new_frozen

__all__ = ["KEYWORDS_PER_POST", "PostText", "PostTextAnalyzer"]

KEYWORDS_PER_POST = 5
# Per-analyzer memo of token -> _TokenEntry; cleared when it reaches this many entries.
_TOKEN_MEMO_LIMIT = 200_000


class _TokenEntry(NamedTuple):
    """Everything the transform needs to know of one token, looked up once per token in one memo.
    Read by position in C: the scorer's sentiment_pass reads items 0-1, tally_terms items 2-3."""

    sentiment_kind: int  # as SentimentScorer.token_sentiment gives it
    sentiment_weight: float
    term_key: tuple[str, str] | None  # (term, kind) in PostText.term_counts; None: the segmenter drops it
    idf: float | None  # its IDF as a keyword; None when it is never one


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
        # token -> _TokenEntry, for the segmenter, scorer and keyword extractor above (set once here).
        self._token_entries: dict[str, _TokenEntry] = {}

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
        tokens = self.segmenter.tokenize(clean.own_text) if clean.own_text else []
        entries = self._entries(tokens)
        sentiment, has_signal = self.scorer.score_entries_with_signal(tokens, entries)
        if not has_signal and (clean.chain or original is not None):
            for fallback in self._fallback_tokens(clean, original):
                fallback_sentiment, fallback_signal = self.scorer.score_with_signal(fallback)
                if fallback_signal:
                    sentiment = fallback_sentiment
                    break
        # One C loop: counts in order of first occurrence (as Counter has them), and the top keywords as
        # KeywordExtractor.keywords ranks and rounds them (the tests hold the two equal).
        term_counts, keywords = tally_terms(entries, KEYWORDS_PER_POST)
        found = None
        if check_confidential:
            found = self.confidential.find(clean.text)
            if original is not None:
                found = list(dict.fromkeys(found + self.confidential.find(original.text)))
        return new_frozen(
            PostText,
            {
                "clean": clean,
                "term_counts": term_counts,
                "sentiment": sentiment,
                "keywords": keywords,
                "confidential_terms": found,
            },
        )

    def terms_and_keywords(self, text: str) -> tuple[dict[tuple[str, str], int], list[tuple[str, float]]]:
        """Term counts and keywords alone (WeChat articles: no sentiment, no confidential check)."""
        return tally_terms(self._entries(self.segmenter.tokenize(text)), KEYWORDS_PER_POST)

    def _entries(self, tokens: list[str]) -> list[_TokenEntry]:
        """Each token's _TokenEntry, in order."""
        entries, missing = lookup_entries(self._token_entries, tokens)  # memo.get of each token, in C
        if missing:  # a token never seen before
            known, remember = self._token_entries.get, self._remember_token
            # known() again first: a new token repeated in the post shares the entry made for it.
            entries = [
                entry or known(token) or remember(token) for token, entry in zip(tokens, entries, strict=True)
            ]
        return entries

    def _remember_token(self, token: str) -> _TokenEntry:
        """A token's _TokenEntry, from the scorer, the segmenter and the keyword extractor; memoized."""
        sentiment_kind, sentiment_weight = self.scorer.token_sentiment(token)
        terms = self.segmenter.terms_of_tokens([token])  # [] when the segmenter drops the token
        term_kind = terms[0].kind if terms else None
        term_key = (token, term_kind) if term_kind is not None else None
        idf = self.keyword_extractor.keyword_idf(token) if term_kind == "word" else None
        entry = _TokenEntry(sentiment_kind, sentiment_weight, term_key, idf)
        if len(self._token_entries) >= _TOKEN_MEMO_LIMIT:
            self._token_entries.clear()
        self._token_entries[token] = entry
        return entry

    def _fallback_tokens(self, clean: CleanText, original: CleanText | None) -> Iterator[list[str]]:
        """The chain's tokens, then the reposted original's: each tokenized only when reached."""
        if clean.chain:
            yield chain_tokens(clean.chain, self.segmenter.tokenize)
        if original is not None and original.own_text:
            yield self.segmenter.tokenize(original.own_text)
