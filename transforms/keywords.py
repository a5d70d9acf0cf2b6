"""TF-IDF keywords of one post from its segmented terms, with jieba's IDF table.

The definition is jieba.analyse.extract_tags's: weight = tf * idf, tf = count / total kept tokens,
idf from jieba/analyse/idf.txt (a term missing from the table gets the table's median IDF). Tokens
come already segmented (transforms/segment.py), so this never runs jieba itself. Two deliberate
differences from jieba.analyse: tokens without a letter or emoji (numbers, punctuation runs such as
"2024" or "……") are skipped, where jieba would keep them; and ties are ordered by term, so the output
does not depend on token order.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

__all__ = [
    "IdfTable",
    "KeywordExtractor",
    "default_idf_path",
    "load_idf",
]

# Unicode categories of a keyword character: letters (CJK included) and other symbols (emoji).
# The same rule as transforms/segment.py's content words.
_CONTENT_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "So"})
# Per-extractor memo of token -> IDF (or skip); cleared when it reaches this many entries.
_MEMO_LIMIT = 200_000
_SKIP = -1.0  # memo value of a token that is never a keyword (IDF values are never negative)


class IdfTable:
    """An IDF table: term -> IDF, and the median IDF given to unknown terms."""

    __slots__ = ("path", "idf", "median_idf")

    def __init__(self, path: Path, idf: dict[str, float], median_idf: float) -> None:
        self.path = path
        self.idf = idf
        self.median_idf = median_idf

    def get(self, term: str) -> float:
        """The IDF of term, or the median IDF when the table does not hold it."""
        return self.idf.get(term, self.median_idf)


def default_idf_path() -> Path:
    """jieba's own IDF table, jieba/analyse/idf.txt inside the installed package."""
    # Located without importing jieba.analyse, whose import builds its own extractor and loads the table.
    return Path(str(files("jieba").joinpath("analyse", "idf.txt")))


def load_idf(path: Path | str | None = None) -> IdfTable:
    """Read an IDF table in jieba's format (`term idf` per line); cached, so read once per process."""
    return _load_idf(str(Path(path).resolve()) if path is not None else str(default_idf_path()))


@lru_cache(maxsize=4)
def _load_idf(path_text: str) -> IdfTable:
    path = Path(path_text)
    idf: dict[str, float] = {}
    with path.open(encoding="utf-8") as lines:
        for line_number, line in enumerate(lines, start=1):
            line = line.strip()
            if not line:
                continue
            term, _, value = line.rpartition(" ")
            try:
                value_idf = float(value)
            except ValueError:
                raise ValueError(f"{path}:{line_number}: expected `term idf`, got {line!r}") from None
            if not term.strip() or not value_idf >= 0:
                raise ValueError(f"{path}:{line_number}: expected `term idf` with idf >= 0, got {line!r}")
            idf[term.strip()] = value_idf
    if not idf:
        raise ValueError(f"{path}: empty IDF table")
    # The median as jieba.analyse's IDFLoader takes it: the upper middle value.
    median_idf = sorted(idf.values())[len(idf) // 2]
    return IdfTable(path, idf, median_idf)


class KeywordExtractor:
    """Top TF-IDF keywords of a post's segmented tokens."""

    def __init__(self, idf_path: Path | str | None = None, stopwords: Iterable[str] = frozenset()) -> None:
        self.idf_table = load_idf(idf_path)
        # Compared lower-cased, as jieba.analyse compares its stop words.
        self.stopwords = frozenset(word.lower() for word in stopwords)
        self._memo: dict[str, float] = {}

    def keywords(self, tokens: Sequence[str], top_k: int = 5) -> list[tuple[str, float]]:
        """[(term, weight)] of the top_k kept tokens by weight desc, then term; weights rounded to 6 places.

        Order uses the exact weights (equal weights: by term), so two terms whose weights differ only
        below the 6th decimal keep their exact order though they print the same rounded weight.
        """
        if top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {top_k}")
        if not tokens or top_k == 0:
            return []
        memo_get = self._memo.get
        ranked: list[tuple[float, str]] = []  # (-count * idf, term) of the kept tokens
        total = 0
        for term, count in Counter(tokens).items():
            idf = memo_get(term)
            if idf is None:
                idf = self._idf_or_skip(term)
            if idf >= 0.0:  # not _SKIP
                total += count
                ranked.append((-count * idf, term))
        if not ranked:
            return []
        # Sorting (-weight, term) tuples orders by exact weight desc, then term, with no key function;
        # only the top_k are divided by total and rounded (round(x, 6) is slow, ~0.3 µs a call).
        # transforms.post_text ranks with _accel.tally_terms (C or Python), held equal to this by the tests.
        ranked.sort()
        return [(term, round(-negative_score / total, 6)) for negative_score, term in ranked[:top_k]]

    def keyword_idf(self, term: str) -> float | None:
        """The IDF a token is weighed with as a keyword; None for a token that is never a keyword
        (shorter than 2 characters, a stopword, no letter or emoji). Memoized."""
        idf = self._memo.get(term)
        if idf is None:
            idf = self._idf_or_skip(term)
        return None if idf == _SKIP else idf

    def _idf_or_skip(self, term: str) -> float:
        """The IDF of a token, or _SKIP for a token that is never a keyword; memoized."""
        kept = (
            len(term.strip()) >= 2
            and term.lower() not in self.stopwords
            and any(unicodedata.category(char) in _CONTENT_CATEGORIES for char in term)
        )
        idf = self.idf_table.get(term) if kept else _SKIP
        if len(self._memo) >= _MEMO_LIMIT:
            self._memo.clear()
        self._memo[term] = idf
        return idf
