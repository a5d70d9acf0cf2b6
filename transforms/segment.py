"""Weibo-aware word segmentation: protected tokens kept whole, the Chinese text between them by jieba.

`Segmenter.tokenize(text)` returns every token in order (punctuation included, whitespace dropped).
One compiled regex matches, whole, what a dictionary segmenter would break apart: user-dictionary
terms with Latin letters or digits, links, #topics#, @mentions, [emoticons], dates and times, version
strings, numbers with their units, Latin brand and product names, runs of one repeated punctuation
mark. Only the Chinese runs between them go through the backend (precise mode, HMM on):

- "jieba-c": jieba's own algorithm ported to C (transforms/_fastseg.c), the default
  (SHENGLIANG_SEGMENTER); it gives exactly jieba's tokens, about 30x faster. Where the extension is not
  built, the same algorithm runs in Python (transforms/_pyfastseg.py, same tokens, about jieba's speed);
  see transforms/_accel.py;
- "rjieba": jieba-rs behind a Python binding (its tokens differ from jieba's on about 0.5%);
- "jieba": the Python reference implementation.

All load jieba 0.42.1's own main dictionary (jieba/dict.txt) and the brand's user dictionary in
jieba's format, and each distinct set of user words gets its own backend instance, so one brand's terms
never change another brand's segmentation.

The outer loop is C too (`_fastseg.scan`; `_pyfastseg.scan` without the extension): it tries the
protected-token regex only where a token can start and cuts the Chinese text between tokens at the run
boundaries below. `reference_tokenize` is the same tokenization as one regex split in Python; the tests
hold the two equal.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat
from pathlib import Path

import jieba
import jieba.finalseg
import rjieba

from transforms import _accel  # the C extension where built, else the same API in Python
from transforms.weibo_text import SPAN_PATTERNS, CleanText

__all__ = [
    "BACKENDS",
    "DEFAULT_STOPWORDS_PATH",
    "TERM_KINDS",
    "Segmenter",
    "Term",
    "count_terms",
    "load_stopwords",
    "main_dictionary_path",
]

DEFAULT_STOPWORDS_PATH = Path(__file__).resolve().parent.parent / "config" / "stopwords.txt"
BACKENDS = ("jieba-c", "rjieba", "jieba")
# "number": a number with its unit (3.5万, 100元, 20%); "date": a date or time (2026年11月23日, 20:30).
# Latin names and versions (iPhone 15, Mate60, v2.3.1) are words. Bare numbers ("2018", "3.5") are dropped.
TERM_KINDS = ("word", "topic", "mention", "emoticon", "link", "number", "date")
_TOKEN_KIND_MEMO_LIMIT = 500_000
# Longer tokens (a very long link, base64 pasted into a post) are not terms: the warehouse's term
# columns hold 200 characters.
MAX_TERM_CHARS = 200
# Larger user-dictionary frequencies would overflow the dictionary total the backends keep in 64 bits.
MAX_USER_FREQ = 10**12
_UNKNOWN = object()

# --- protected-token patterns -----------------------------------------------------------------------

_DIGIT = "[0-9０-９]"
_LATIN = "A-Za-zＡ-Ｚａ-ｚ"
_NUMBER = rf"{_DIGIT}+(?:[.．]{_DIGIT}+)?"
_NOT_AFTER_ALNUM = rf"(?<![{_LATIN}0-9０-９_.])"
# Dates: 2026年11月23日, 2026年11月, 11月23日, 11月, 2026年, 23日, 2026-11-23, 2026/11/23, 2026.11.23.
_DATE = (
    rf"{_DIGIT}{{4}}(?P<sep>[-/.]){_DIGIT}{{1,2}}(?P=sep){_DIGIT}{{1,2}}(?!{_DIGIT})"
    rf"|(?:{_DIGIT}{{2,4}}年)?{_DIGIT}{{1,2}}月(?:{_DIGIT}{{1,2}}[日号])?"
    rf"|{_DIGIT}{{2,4}}年|{_DIGIT}{{1,2}}[日号]"
)
# Times: 20:30, 8:05:59.
_TIME = rf"{_DIGIT}{{1,2}}[:：]{_DIGIT}{{2}}(?:[:：]{_DIGIT}{{2}})?(?!{_DIGIT})"
# Versions: v2.3.1, V10, 2.3.1 (three or more dotted parts).
_VERSION = rf"[vV]{_DIGIT}+(?:\.{_DIGIT}+)*(?![{_LATIN}])|{_DIGIT}+(?:\.{_DIGIT}+){{2,}}"
# A number, then a magnitude (万, 亿, 千万) or a unit, a percent sign or a common measure word
# ("3.5万元" is "3.5万" + "元", as the PKU/NLPCC standard has it).
_MAGNITUDE = "[十百千万亿]*[万亿]|[百千]"
_UNIT = (
    "%|％|‰|公里|公斤|千米|厘米|毫米|平米|平方米|小时|分钟|"
    "[元块角毛分秒岁个次人名位条张本部台款代辆天周倍度点楼层米斤克吨集期届章页篇号]"
)
_NUMBER_WITH_UNIT = rf"{_NUMBER}(?:{_MAGNITUDE}|{_UNIT})"
# Model suffixes that stay with a product name after a space: "iPhone 15 Pro Max".
_MODEL_SUFFIX = "Pro|Max|Plus|Ultra|Mini|Lite|SE|Air|mini|pro|max|plus"
# Latin names: a run of letters and digits ("Mate60", "5G", "iPhone"), inner "-" "_" "." "+" "'" allowed;
# a name with a capital letter also takes a following " 15" or " 17.2" and model suffixes ("iOS 17",
# "iPhone 15 Pro"). An all-lowercase word ("in 2019") does not.
_LATIN_WORD = rf"[{_LATIN}0-9０-９]*[{_LATIN}][{_LATIN}0-9０-９]*(?:[-_.+'][{_LATIN}0-9０-９]+)*"
_LATIN_NAME = (
    rf"(?=[{_LATIN}0-9０-９]*[A-ZＡ-Ｚ]){_LATIN_WORD}"
    rf"(?: {_DIGIT}{{1,4}}(?:\.{_DIGIT}+)?[{_LATIN}]*(?![{_LATIN}0-9０-９])"
    rf"(?: (?:{_MODEL_SUFFIX})(?![{_LATIN}0-9０-９]))*)?"
    rf"|{_LATIN_WORD}"
)
# Chinese characters as jieba's re_han_default has them; a run goes to the backend whole, except that it
# ends after a numeral or demonstrative before a measure word ("一|个", "这|种", "第一|次") and after 不 and
# adverbs before 是 or a modal ("不|是", "也|是", "不|能"), as the PKU/NLPCC standard segments them.
_CHINESE_CHAR = "[\u4e00-\u9fd5]"
_NUMERAL = "一两三四五六七八九十几这那哪每某"
_MEASURE = "个名次种位只件条张款场份批项句篇首辆座间对双群届层步声杯瓶天年周岁元块部台本支枚颗架套组段"
_NEGATION = "不"
_BEFORE_MODAL = "是能要会敢"  # 不 ends a run before these
_ADVERBS_BEFORE_SHI = "就也都又才"  # end a run before 是
_COPULA = "是"
_BOUNDARY_CHARS = _NUMERAL + _NEGATION + _ADVERBS_BEFORE_SHI
# The same rules for _accel.scan, in its order: (numeral, measure word), (不, modal), (adverb, 是).
_RUN_RULES = (_NUMERAL, _MEASURE, _NEGATION, _BEFORE_MODAL, _ADVERBS_BEFORE_SHI, _COPULA)


def _chinese_class_without(excluded: str) -> str:
    """A character class of _CHINESE_CHAR's range minus `excluded`, as plain ranges (fast in re)."""
    ranges, start = [], 0x4E00
    for code in sorted(map(ord, set(excluded))):
        if code > start:
            ranges.append(f"\\u{start:04x}-\\u{code - 1:04x}")
        start = code + 1
    ranges.append(f"\\u{start:04x}-\\u9fd5")
    return f"[{''.join(ranges)}]"


def _boundary_rules(guard: str) -> tuple[str, str]:
    """Regex alternatives for the boundary characters inside a run: (goes on, ends the run after it)."""
    goes_on = (
        rf"{guard}[{_NUMERAL}](?![{_MEASURE}])|{guard}{_NEGATION}(?![{_BEFORE_MODAL}])"
        rf"|{guard}[{_ADVERBS_BEFORE_SHI}](?!{_COPULA})"
    )
    ends = (
        rf"{guard}[{_NUMERAL}](?=[{_MEASURE}])|{guard}{_NEGATION}(?=[{_BEFORE_MODAL}])"
        rf"|{guard}[{_ADVERBS_BEFORE_SHI}](?={_COPULA})"
    )
    return goes_on, ends


def _chinese_run(term_firsts: str = "", term: str = "") -> str:
    """A run of Chinese characters; it also stops where `term` matches (chars `term_firsts` start it)."""
    firsts = "".join(char for char in term_firsts if char not in _BOUNDARY_CHARS)
    stop_at_term = f"|(?!{term})[{firsts}]" if firsts else ""
    guard = f"(?!{term})" if term else ""  # boundary characters also stop where a user term starts
    goes_on, ends = _boundary_rules(guard)
    # Possessive quantifiers: a run never gives characters back.
    return (
        rf"(?={_CHINESE_CHAR})(?:{_chinese_class_without(_BOUNDARY_CHARS + firsts)}++{stop_at_term}"
        rf"|{goes_on})*+(?:{ends})?"
    )


# CJK code points outside _CHINESE_CHAR that jieba-rs still counts as Han (Extension A, U+9FD6-U+9FFF,
# compatibility ideographs, the supplementary planes): never handed to the backend next to Chinese.
_JIEBA_RS_HAN_EXTRA = "\u3400-\u4dbf\u9fd6-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
# First characters of the alternatives defined here after the span patterns (dates, times, versions,
# numbers, Latin names, kana/hangul): one look-ahead skips them all at a punctuation mark.
_LOCAL_TOKEN_NAMES = ("date", "time", "version", "number", "latin", "plain_number", "kana_hangul")
_LOCAL_TOKEN_FIRSTS = "0-9０-９A-Za-zＡ-Ｚａ-ｚ\u3040-\u30ff\u31f0-\u31ff\uac00-\ud7af"


def _backend_run(term_firsts: str = "", term: str = "") -> str:
    """What tokenize() hands the backend in one call: Chinese runs as _chinese_run() cuts them, with the
    lone punctuation marks and symbols (emoji) between them.

    The backend makes one token of each such mark and segments each Chinese run on its own, so one call
    on "好，很好！" gives what cut("好") + ["，"] + cut("很好") + ["！"] gives, in fewer calls and regex
    matches. Kept out (they start a protected token or are not one token each in the backend): word
    characters (Latin, digits, kana, CJK outside _CHINESE_CHAR), whitespace, "#@[" and "+&._%-" (jieba
    glues those to neighbouring Han), CJK ranges jieba-rs treats as Han, and a mark followed by itself
    (a punctuation run, a protected token).
    """
    firsts = "".join(char for char in term_firsts if char not in _BOUNDARY_CHARS)
    stop_at_term = f"|(?!{term})[{firsts}]" if firsts else ""
    guard = f"(?!{term})" if term else ""
    mark = rf"[^\w\s#@\[+&._%\-{_JIEBA_RS_HAN_EXTRA}]"
    goes_on, ends = _boundary_rules(guard)
    # Possessive, like _chinese_run(); "text_mark" is the back-referenced lone mark.
    return (
        rf"(?:{_chinese_class_without(_BOUNDARY_CHARS + firsts)}++{stop_at_term}"
        rf"|{goes_on}|(?P<text_mark>{mark})(?!(?P=text_mark)))++(?:{ends})?"
        rf"|{ends}"
    )


# Japanese kana and Korean hangul runs stay whole (jieba would give one character a token).
_KANA_HANGUL = "[\u3040-\u30ff\u31f0-\u31ff]+|[\uac00-\ud7af]+"
# A run of one repeated punctuation mark or symbol: "……", "——", "！！！", "~~".
_PUNCT_RUN = r"(?P<mark>[^\w\s])(?P=mark)+"

# Pieces per match from the split regex: the text before it, then its 5 groups.
_SPLIT_STRIDE = 6

# Kinds of the named groups (terms() reports them); "space" is dropped.
_GROUP_KINDS = {
    "user": "word",
    "link": "link",
    "topic": "topic",
    "mention": "mention",
    "emoticon": "emoticon",
    "date": "date",
    "time": "date",
    "version": "word",
    "number": "number",
    "latin": "word",
    "plain_number": "number",
    "kana_hangul": "word",
    "punct": "word",
    "space": "space",
}

# jieba only builds words inside runs of these characters (its re_han_default); a dictionary term with
# any other character (a space, "·", "!") could never come out whole.
_JIEBA_WORD_RE = re.compile(r"[\u4e00-\u9fd5a-zA-Z0-9+#&._%\-]+")
_CJK_RE = re.compile(r"[\u4e00-\u9fd5]")
_NON_CJK_RE = re.compile(r"[^\u4e00-\u9fd5]")
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


def main_dictionary_path() -> Path:
    """jieba's own main dictionary (dict.txt in the jieba package): both backends load this file."""
    return Path(jieba.__file__).resolve().parent / "dict.txt"


class Segmenter:
    """A segmenter for one brand (one set of user dictionaries and stopwords) on one backend.

    Dictionary and stopword files are read only here, in construction; `stopwords=None` loads the
    shipped `config/stopwords.txt`; `backend=None` takes SHENGLIANG_SEGMENTER (see
    shengliang.settings.segmenter_backend). User dictionaries use jieba's format, `word [freq] [tag]`
    per line (UTF-8): every term stays one token in running text. Terms with spaces (or other characters
    jieba splits on, like "·") raise ValueError, as does freq 0 (jieba's "delete word"). Terms with Latin
    letters or digits match in any case ("极光x5", "星环os") and swallow a glued Latin/digit tail ("极光X50"
    is another product, not 极光X5); tokens keep the case they were written in.

    The backend (with the main dictionary) is built lazily on the first call; later calls only segment.
    """

    def __init__(
        self,
        user_dictionaries: Sequence[str | Path] = (),
        stopwords: Iterable[str] | None = None,
        backend: str | None = None,
    ) -> None:
        if isinstance(user_dictionaries, str | Path):
            raise TypeError("user_dictionaries must be a sequence of paths, not one path")
        if isinstance(stopwords, str):
            raise TypeError("stopwords must be an iterable of terms, not one string")
        if backend is None:
            from shengliang.settings import segmenter_backend  # the transform itself never reads env

            backend = segmenter_backend()
        if backend not in BACKENDS:
            raise ValueError(f"unknown segmenter backend {backend!r}; use one of {', '.join(BACKENDS)}")
        self._backend_name = backend
        self._entries = tuple(entry for path in user_dictionaries for entry in _read_user_dictionary(path))
        if stopwords is None:
            self._stopwords = load_stopwords(DEFAULT_STOPWORDS_PATH)
        else:
            self._stopwords = frozenset(word.strip() for word in stopwords if word.strip())
        patterns = _compile_patterns(tuple(entry.word for entry in self._entries))
        self._named_re = patterns.named
        self._split_re = patterns.split
        self._match_protected = patterns.protected.match
        self._han_firsts = patterns.han_firsts
        self._token_kinds: dict[str, str | None] = {}
        self._backend: _Backend | None = None
        self._lock = threading.Lock()

    @property
    def backend(self) -> str:
        return self._backend_name

    @property
    def user_terms(self) -> frozenset[str]:
        """Every term from the user dictionaries as written."""
        return frozenset(entry.word for entry in self._entries)

    @property
    def stopwords(self) -> frozenset[str]:
        return self._stopwords

    def tokenize(self, text: str) -> list[str]:
        """Every token of `text` in order, punctuation included, whitespace dropped."""
        backend = self._backend or self._ready_backend()
        return _accel.scan(text, self._match_protected, self._han_firsts, _RUN_RULES, backend.cutter)

    def reference_tokenize(self, text: str) -> list[str]:
        """`tokenize` as one regex split in Python: slower, the same tokens (the tests hold them equal)."""
        cut = (self._backend or self._ready_backend()).cut
        tokens: list[str] = []
        extend, append = tokens.extend, tokens.append
        # split() gives [other, chinese, text_mark, token, sep, mark, other, ...]: "other" is what no
        # rule matched (characters like "é", a lone "#" or "."), one token per character as jieba gives
        # it; "chinese" goes to the backend; "token" is a protected token; a match with neither is
        # whitespace.
        pieces = self._split_re.split(text)
        step = _SPLIT_STRIDE
        for other, chinese, token in zip(pieces[:-1:step], pieces[1::step], pieces[3::step], strict=True):
            if other:
                extend(other)
            if chinese is not None:
                extend(cut(chinese))
            elif token is not None:
                append(token)
        if pieces[-1]:
            extend(pieces[-1])
        return tokens

    def backend_cut(self, text: str) -> list[str]:
        """The backend's own segmentation of `text` with this segmenter's dictionary, no protected tokens.

        For comparing backends; whitespace comes back as tokens, as jieba gives it.
        """
        return (self._backend or self._ready_backend()).cut(text)

    def terms(self, clean: CleanText) -> list[Term]:
        """Terms of `clean.own_text` in order: the tokens of `tokenize`, each with its kind.

        Words that are stopwords (exact or lower-cased match) or carry no letter, CJK character or
        emoji (punctuation, symbols like "~", bare numbers like "2018" or "3.5") are dropped; numbers
        with units ("3.5万") and dates ("11月23日") are kept with kinds "number" and "date"; tokens over
        MAX_TERM_CHARS are dropped.
        """
        return self.terms_of_tokens(self.tokenize(clean.own_text))

    def terms_of_tokens(self, tokens: Sequence[str]) -> list[Term]:
        """`terms` of tokens `tokenize` already made (the pipeline segments once)."""
        return [Term(token, kind) for token, kind in zip(tokens, self._kinds(tokens), strict=True) if kind]

    def _kinds(self, tokens: Sequence[str]) -> list[str | None]:
        """Each token's term kind, None for a dropped token; worked out once per distinct token."""
        memo = self._token_kinds
        if len(memo) > _TOKEN_KIND_MEMO_LIMIT:
            memo.clear()
        kinds = list(map(memo.get, tokens, repeat(_UNKNOWN)))
        if _UNKNOWN in kinds:
            for index, kind in enumerate(kinds):
                if kind is _UNKNOWN:
                    kinds[index] = memo[tokens[index]] = self._token_kind(tokens[index])
        return kinds

    def _token_kind(self, token: str) -> str | None:
        if len(token) > MAX_TERM_CHARS:
            return None
        match = self._named_re.fullmatch(token)
        group = match.lastgroup if match else None
        if group is None or group == "chinese":
            return "word" if self._is_kept(token) else None
        kind = _GROUP_KINDS[group]
        if group == "plain_number" or kind == "space" or (kind == "word" and not self._is_kept(token)):
            return None
        return kind

    def _is_kept(self, word: str) -> bool:
        if word in self._stopwords or word.lower() in self._stopwords:
            return False
        return any(unicodedata.category(char) in _CONTENT_CATEGORIES for char in word)

    def _ready_backend(self) -> _Backend:
        with self._lock:
            if self._backend is None:
                self._backend = _load_backend(self._backend_name, self._dictionary_words())
        return self._backend

    def _dictionary_words(self) -> tuple[_DictionaryEntry, ...]:
        # Multi-character stopword phrases jieba does not know (转发微博, 网页链接) become words so they come
        # out whole and can be dropped; only those missing from the main dictionary. Brand terms come
        # after, so they win.
        main = _main_dictionary_words()
        phrases = tuple(
            _DictionaryEntry(word, None, None)
            for word in sorted(self._stopwords)
            if len(word) > 1 and _CJK_RE.search(word) and _JIEBA_WORD_RE.fullmatch(word) and word not in main
        )
        return phrases + self._entries


@dataclass(frozen=True)
class _Patterns:
    named: re.Pattern[str]  # every alternative as a named group: a token's kind
    split: re.Pattern[str]  # reference_tokenize's split
    protected: re.Pattern[str]  # the protected tokens alone, tried by _accel.scan where one may start
    han_firsts: str  # Chinese characters a user term in the regex starts with


@lru_cache(maxsize=64)
def _compile_patterns(user_words: tuple[str, ...]) -> _Patterns:
    """The protected-token regexes for one set of user words."""
    # Only user terms with a non-CJK character need the regex (the Latin/number rules would cut them);
    # all-CJK terms are kept whole by the backend's dictionary. Longest first, any case, glued tail kept.
    latin_terms = sorted(
        {word for word in user_words if _NON_CJK_RE.search(word)}, key=lambda word: (-len(word), word)
    )
    # So do all-CJK terms with a character where a run may be cut (三只松鼠: numeral + measure word).
    boundary_terms = sorted(
        {word for word in user_words if word not in latin_terms and any(c in _BOUNDARY_CHARS for c in word)},
        key=lambda word: (-len(word), word),
    )
    # The Chinese characters those terms start with: where scan() tries `protected` on Chinese text
    # (boundary characters included; the split regex guards those with a look-ahead instead).
    han_firsts = "".join(sorted({word[0] for word in latin_terms + boundary_terms if _CJK_RE.match(word[0])}))
    alternatives: list[tuple[str, str]] = []
    chinese, backend_run = _chinese_run(), _backend_run()
    if latin_terms or boundary_terms:
        pieces = []
        if latin_terms:
            pieces.append(rf"(?i:{'|'.join(re.escape(word) for word in latin_terms)})[{_LATIN}0-9０-９]*")
        if boundary_terms:
            pieces.append("|".join(re.escape(word) for word in boundary_terms))
        user = "(?:" + "|".join(pieces) + ")"
        alternatives.append(("user", user))
        # A Chinese run must stop where such a term starts ("新的极光X5"); only the terms' first
        # characters pay for the look-ahead.
        chinese, backend_run = _chinese_run(han_firsts, user), _backend_run(han_firsts, user)
    alternatives += [
        ("chinese", chinese),
        *SPAN_PATTERNS.items(),
        # A one-character look-ahead first: most positions fail there, cheaply.
        ("date", rf"(?={_DIGIT}){_NOT_AFTER_ALNUM}(?:{_DATE})"),
        ("time", rf"(?={_DIGIT}){_NOT_AFTER_ALNUM}{_TIME}"),
        ("version", rf"(?=[vV0-9０-９]){_NOT_AFTER_ALNUM}(?:{_VERSION})"),
        ("number", rf"(?={_DIGIT}){_NOT_AFTER_ALNUM}{_NUMBER_WITH_UNIT}(?![{_LATIN}])"),
        ("latin", rf"(?=[{_LATIN}0-9０-９])(?:{_LATIN_NAME})"),
        ("plain_number", rf"{_DIGIT}+(?:[.,．]{_DIGIT}+)*"),
        ("kana_hangul", _KANA_HANGUL),
        ("punct", _PUNCT_RUN),
        ("space", r"\s+"),
    ]
    named = "|".join(f"(?P<{name}>{pattern})" for name, pattern in alternatives)
    # For split(): groups "chinese" (text for one backend call, see _backend_run) and "token" (the
    # protected tokens), whitespace matched outside both. The same alternatives in the same order, but
    # the ones defined here sit behind one look-ahead on their first characters (cheap at punctuation).
    # The only other groups are the back-referenced "text_mark", "sep" and "mark": split() yields
    # 1 + 5 pieces a match (_SPLIT_STRIDE).
    by_name = dict(alternatives)
    expected = {"chinese", *SPAN_PATTERNS, *_LOCAL_TOKEN_NAMES, "punct", "space", *by_name.keys() & {"user"}}
    # A new alternative must be placed here by hand: the look-ahead only covers _LOCAL_TOKEN_NAMES.
    assert set(by_name) == expected, sorted(set(by_name) ^ expected)
    spans = [by_name[name] for name in ("user", *SPAN_PATTERNS) if name in by_name]
    local = "|".join(by_name[name] for name in _LOCAL_TOKEN_NAMES)
    protected = "|".join([*spans, rf"(?=[{_LOCAL_TOKEN_FIRSTS}])(?:{local})", by_name["punct"]])
    split = re.compile(rf"(?P<chinese>{backend_run})|\s+|(?P<token>{protected})")
    assert split.groups == _SPLIT_STRIDE - 1, split.groups
    return _Patterns(re.compile(named), split, re.compile(protected), han_firsts)


@lru_cache(maxsize=1)
def _main_dictionary_lines() -> tuple[tuple[str, int, str | None], ...]:
    """(word, freq, tag) of every line of jieba's dict.txt, read once per process."""
    entries = []
    for line in main_dictionary_path().read_text(encoding="utf-8").splitlines():
        fields = line.split(" ")
        if len(fields) >= 2:
            entries.append((fields[0], int(fields[1]), fields[2] if len(fields) > 2 else None))
    return tuple(entries)


@lru_cache(maxsize=1)
def _main_dictionary_words() -> frozenset[str]:
    return frozenset(word for word, _freq, _tag in _main_dictionary_lines())


@lru_cache(maxsize=1)
def _jieba_base_dictionary() -> tuple[dict[str, int], int]:
    """jieba's main dictionary (prefix frequencies, total), read once per process; never mutate it."""
    jieba.setLogLevel(logging.WARNING)  # jieba logs its loading at DEBUG to stderr
    tokenizer = jieba.Tokenizer(str(main_dictionary_path()))
    tokenizer.initialize()
    return tokenizer.FREQ, tokenizer.total


@dataclass(frozen=True)
class _Backend:
    cut: Callable[[str], list[str]]  # the backend's own cut of any text
    cutter: object  # what _accel.scan cuts Chinese runs with: an _accel.Dictionary, or `cut`


_BACKEND_LOCK = threading.Lock()


def _jieba_tokenizer(words: tuple[_DictionaryEntry, ...]) -> jieba.Tokenizer:
    """A jieba Tokenizer holding the main dictionary plus `words`, added as jieba's add_word adds them."""
    base_freq, base_total = _jieba_base_dictionary()
    tokenizer = jieba.Tokenizer(str(main_dictionary_path()))
    # Same state Tokenizer.initialize() would leave, on a private copy of the shared dictionary.
    tokenizer.FREQ, tokenizer.total, tokenizer.initialized = dict(base_freq), base_total, True
    for entry in words:
        tokenizer.add_word(entry.word, entry.freq, entry.tag)
    return tokenizer


@lru_cache(maxsize=32)
def _load_backend_cached(backend: str, words: tuple[_DictionaryEntry, ...]) -> _Backend:
    if backend == "jieba-c":
        tokenizer = _jieba_tokenizer(words)
        finalseg = jieba.finalseg
        dictionary = _accel.Dictionary(
            tokenizer.FREQ, tokenizer.total, finalseg.start_P, finalseg.trans_P, finalseg.emit_P
        )
        return _Backend(dictionary.cut, dictionary)
    if backend == "jieba":
        tokenizer = _jieba_tokenizer(words)

        def cut(text: str) -> list[str]:
            return tokenizer.lcut(text, False, True)

        return _Backend(cut, cut)
    segmenter = rjieba.Jieba.empty()
    add_word = segmenter.add_word
    for word, freq, tag in _main_dictionary_lines():
        add_word(word, freq, tag)
    for entry in words:
        add_word(entry.word, entry.freq, entry.tag)
    return _Backend(segmenter.cut, segmenter.cut)  # hmm=True is its default


def _load_backend(backend: str, words: tuple[_DictionaryEntry, ...]) -> _Backend:
    """A backend holding the main dictionary plus `words`; one per distinct set."""
    with _BACKEND_LOCK:
        return _load_backend_cached(backend, words)


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
            raise ValueError(
                f"{where}: expected 'word [freq] [tag]' (a word without spaces, a whole-number freq, a "
                f"lower-case part-of-speech tag such as nz), got {line!r}"
            )
        if not _JIEBA_WORD_RE.fullmatch(word):
            allowed = "CJK, letters, digits and +#&._%-"
            raise ValueError(f"{where}: jieba cannot keep {word!r} whole (only {allowed})")
        if freq == 0:
            raise ValueError(f"{where}: freq 0 (delete word) is not supported for {word!r}")
        if freq is not None and freq > MAX_USER_FREQ:
            raise ValueError(
                f"{where}: freq {freq} for {word!r} is too large; use at most {MAX_USER_FREQ:,} "
                "(jieba's own dictionary tops out near 900,000)"
            )
        entries.append(_DictionaryEntry(word, freq, tag))
    return entries
