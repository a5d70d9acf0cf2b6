"""Segment cleaned Weibo text into counted terms with jieba, keeping Weibo tokens whole.

#topics#, @mentions, [emoticons] and links are cut out first and emitted whole; only the plain text
between them goes through jieba (precise mode, HMM on). Each brand gets its own jieba Tokenizer with
its own user dictionary, so one brand's terms never change another brand's segmentation.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jieba

from transforms.weibo_text import CleanText, iter_spans

__all__ = [
    "DEFAULT_STOPWORDS_PATH",
    "TERM_KINDS",
    "Segmenter",
    "Term",
    "count_terms",
    "load_stopwords",
]

DEFAULT_STOPWORDS_PATH = Path(__file__).resolve().parent.parent / "config" / "stopwords.txt"
TERM_KINDS = ("word", "topic", "mention", "emoticon", "link")

# jieba only builds words inside runs of these characters (its re_han_default); a dictionary term with
# any other character (a space, "·", "!") could never come out whole.
_JIEBA_WORD_RE = re.compile(r"[\u4e00-\u9fd5a-zA-Z0-9+#&._%\-]+")
_CJK_RE = re.compile(r"[\u4e00-\u9fd5]")
_ASCII_ALNUM_END_RE = re.compile(r"[A-Za-z0-9]$")
_ASCII_ALNUM_START_RE = re.compile(r"[A-Za-z0-9]")
# A kept word has a letter (CJK included) or an emoji/other symbol; the rest is punctuation or numbers.
_CONTENT_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "So"})


@dataclass(frozen=True)
class Term:
    """One term occurrence; kind is one of TERM_KINDS."""

    term: str
    kind: str


@dataclass(frozen=True)
class _DictionaryEntry:
    word: str
    freq: int | None
    tag: str | None


def load_stopwords(path: str | Path) -> frozenset[str]:
    """Read a stopword file: UTF-8, one term per line, blank lines and `#` comment lines ignored."""
    lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#"))


def count_terms(terms: Iterable[Term]) -> dict[tuple[str, str], int]:
    """Occurrences per (term, kind)."""
    return dict(Counter((term.term, term.kind) for term in terms))


class Segmenter:
    """A jieba segmenter for one brand (one set of user dictionaries and stopwords).

    Dictionary and stopword files are read only here, in construction; `stopwords=None` loads the
    shipped `config/stopwords.txt`. User dictionaries use jieba's format, `word [freq] [tag]` per line
    (UTF-8): every term stays one token in running text. jieba cannot hold terms with spaces (or other
    characters it splits on, like "·"), so such lines raise ValueError, as does freq 0 (jieba's
    "delete word" would change its process-wide HMM state). Terms with Latin letters are also added
    in lower and upper case ("极光x5", "星环os"), since users rarely type the official case; tokens keep
    the case they were written in.

    jieba's main dictionary is read once per process; each Segmenter gets its own `jieba.Tokenizer`
    (never the global one) holding a private copy of it, built lazily on the first `terms()` call.
    Later calls only segment.
    """

    def __init__(
        self,
        user_dictionaries: Sequence[str | Path] = (),
        stopwords: Iterable[str] | None = None,
    ) -> None:
        if isinstance(user_dictionaries, str | Path):
            raise TypeError("user_dictionaries must be a sequence of paths, not one path")
        if isinstance(stopwords, str):
            raise TypeError("stopwords must be an iterable of terms, not one string")
        self._entries = _with_case_variants(
            [entry for path in user_dictionaries for entry in _read_user_dictionary(path)]
        )
        if stopwords is None:
            self._stopwords = load_stopwords(DEFAULT_STOPWORDS_PATH)
        else:
            self._stopwords = frozenset(word.strip() for word in stopwords if word.strip())
        self._tokenizer: jieba.Tokenizer | None = None
        self._lock = threading.Lock()

    @property
    def user_terms(self) -> frozenset[str]:
        """Every term from the user dictionaries, case variants included."""
        return frozenset(entry.word for entry in self._entries)

    @property
    def stopwords(self) -> frozenset[str]:
        return self._stopwords

    def terms(self, clean: CleanText) -> list[Term]:
        """Terms of `clean.own_text` in order: Weibo tokens whole, plain text segmented by jieba.

        Words that are stopwords (exact or lower-cased match) or carry no letter, CJK character or
        emoji (whitespace, punctuation, symbols like "~", numbers like "2018" or "3.5") are dropped.
        """
        terms: list[Term] = []
        for kind, value in iter_spans(clean.own_text):
            if kind != "text":
                terms.append(Term(value, kind))
                continue
            terms.extend(Term(word, "word") for word in self._cut(value) if self._is_kept(word))
        return terms

    def _cut(self, text: str) -> list[str]:
        words: list[str] = []
        for word in self._ready_tokenizer().cut(text, cut_all=False, HMM=True):
            # A dictionary term ending in Latin/digits can cut a longer run ("极光X50" -> "极光X5" "0");
            # glue such pieces back so a term only matches where it ends.
            if words and _ASCII_ALNUM_END_RE.search(words[-1]) and _ASCII_ALNUM_START_RE.match(word):
                words[-1] += word
            else:
                words.append(word)
        return words

    def _is_kept(self, word: str) -> bool:
        if word in self._stopwords or word.lower() in self._stopwords:
            return False
        return any(unicodedata.category(char) in _CONTENT_CATEGORIES for char in word)

    def _ready_tokenizer(self) -> jieba.Tokenizer:
        if self._tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    self._tokenizer = self._build_tokenizer()
        return self._tokenizer

    def _build_tokenizer(self) -> jieba.Tokenizer:
        base_freq, base_total = _base_dictionary()
        tokenizer = jieba.Tokenizer()
        # Same state Tokenizer.initialize() would leave, without re-reading the dictionary.
        tokenizer.FREQ, tokenizer.total, tokenizer.initialized = dict(base_freq), base_total, True
        # Multi-character stopword phrases jieba does not know (转发微博, 网页链接) are made words so they
        # come out whole and can be dropped. Brand terms are added after, so they win.
        for word in sorted(self._stopwords):
            if len(word) > 1 and _CJK_RE.search(word) and _JIEBA_WORD_RE.fullmatch(word):
                if not tokenizer.FREQ.get(word):
                    tokenizer.add_word(word)
        for entry in self._entries:
            tokenizer.add_word(entry.word, entry.freq, entry.tag)
        return tokenizer


@lru_cache(maxsize=1)
def _base_dictionary() -> tuple[dict[str, int], int]:
    """jieba's main dictionary (prefix frequencies, total), read once per process; never mutate it."""
    jieba.setLogLevel(logging.WARNING)  # jieba logs its loading at DEBUG to stderr
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer.FREQ, tokenizer.total


def _read_user_dictionary(path: str | Path) -> list[_DictionaryEntry]:
    entries = []
    for line_number, line in enumerate(Path(path).read_text(encoding="utf-8-sig").splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        word, rest = fields[0], fields[1:]
        freq = int(rest.pop(0)) if rest and rest[0].isascii() and rest[0].isdigit() else None
        tag = rest.pop(0) if rest and re.fullmatch(r"[a-z]+", rest[0]) else None
        where = f"{path}:{line_number}"
        if rest:
            raise ValueError(f"{where}: expected 'word [freq] [tag]' (no spaces in the word), got {line!r}")
        if not _JIEBA_WORD_RE.fullmatch(word):
            allowed = "CJK, letters, digits and +#&._%-"
            raise ValueError(f"{where}: jieba cannot keep {word!r} whole (only {allowed})")
        if freq == 0:
            raise ValueError(f"{where}: freq 0 (delete word) is not supported for {word!r}")
        entries.append(_DictionaryEntry(word, freq, tag))
    return entries


def _with_case_variants(entries: list[_DictionaryEntry]) -> tuple[_DictionaryEntry, ...]:
    known = {entry.word for entry in entries}
    variants = []
    for entry in entries:
        for word in (entry.word.lower(), entry.word.upper()):
            if word not in known:
                known.add(word)
                variants.append(_DictionaryEntry(word, entry.freq, entry.tag))
    return (*entries, *variants)
