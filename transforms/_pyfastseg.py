"""The fast paths of transforms._fastseg in pure Python: the same API, the same results.

transforms/_fastseg.c is an optional accelerator; where it is not built (no C compiler) the transforms
use this module instead (see transforms._accel). Every function and class here gives what its C
namesake gives, token for token and number for number (floats in the same arithmetic order); the
differential tests (tests/test_transforms_accel.py) run both on the same inputs.

- Dictionary: jieba 0.42.1's precise mode with HMM (Tokenizer.cut(text, cut_all=False, HMM=True)):
  the prefix DAG, the max-probability route and the finalseg Viterbi for runs of single characters,
  on the dictionary state (FREQ, total) and HMM tables handed over from jieba's own Python objects.
- scan(): transforms.segment's tokenizer loop (protected tokens by the caller's regex, Chinese runs
  cut at the run boundaries and handed to a Dictionary or a Python cut function).
- Normalizer, lookup_entries(), sentiment_pass(), tally_terms(): as documented in _fastseg.c.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from functools import lru_cache
from itertools import compress, repeat
from math import log
from operator import index as _as_index
from operator import itemgetter
from typing import Any

__all__ = ["Dictionary", "Normalizer", "lookup_entries", "scan", "sentiment_pass", "tally_terms"]

MIN_FLOAT = -3.14e100
_STATES = "BEMS"
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1

# jieba's re_han_default and re_skip_default (Tokenizer.cut), finalseg's re_han and re_skip.
_RE_BLOCK = re.compile("([\u4e00-\u9fd5a-zA-Z0-9+#&\\._%\\-]+)")
_RE_SKIP = re.compile("(\r\n|\\s)")
_RE_HMM_HAN = re.compile("([\u4e00-\u9fd5]+)")
_RE_HMM_SKIP = re.compile(r"([a-zA-Z0-9]+(?:\.\d+)?%?)")
_RE_HAN_RUN = re.compile("([\u4e00-\u9fd5]+)")


_ABSENT: Any = object()  # not in FREQ
_FIRST, _THIRD, _FOURTH = itemgetter(0), itemgetter(2), itemgetter(3)


def _as_double(value: Any) -> float:
    """PyFloat_AsDouble: a float's own value, else __float__, else __index__; a str is refused."""
    if isinstance(value, float):
        return float.__float__(value)
    kind = type(value)
    if hasattr(kind, "__float__"):
        return float(value)
    if hasattr(kind, "__index__"):
        return float(_as_index(value))
    raise TypeError(f"must be real number, not {kind.__name__}")


def _is_han(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fd5"


# --- Dictionary: jieba's Tokenizer.cut ----------------------------------------------------------------


class Dictionary:
    """jieba's dictionary state (FREQ, total) and HMM tables, for jieba's precise-mode cut."""

    _ready = False
    _touched = False  # __init__ got past its checks: a second __init__ is refused, as in C

    def __init__(
        self,
        freq: dict[str, int],
        total: int,
        start_p: Mapping[str, float],
        trans_p: Mapping[str, Mapping[str, float]],
        emit_p: Mapping[str, Mapping[str, float]],
    ) -> None:
        if not isinstance(freq, dict):
            raise TypeError(f"Dictionary() argument 1 must be dict, not {type(freq).__name__}")
        total = _as_index(total)
        if not _INT64_MIN <= total <= _INT64_MAX:
            raise OverflowError("Python int too large to convert to C long long")
        if self._touched or self._ready:
            raise RuntimeError("Dictionary is already initialized")
        if total <= 0:
            raise ValueError("total must be positive")
        if not all(isinstance(word, str) for word in freq) or not all(
            isinstance(count, int) for count in freq.values()
        ):
            raise TypeError("freq must map str to int")
        self._touched = True
        counts = set(freq.values())
        if counts and (min(counts) < _INT64_MIN or max(counts) > _INT64_MAX):
            raise OverflowError("Python int too large to convert to C long long")
        logtotal = log(float(total))
        # word -> log(freq) - logtotal where freq > 0, None for a prefix (freq 0 or less): jieba's
        # "log(FREQ[word]) - logtotal" of calc(), computed once per distinct freq (one float object each).
        log_of = {count: log(float(count)) - logtotal for count in counts if count > 0}
        self._logp: dict[str, float | None] = {word: log_of.get(count) for word, count in freq.items()}
        self._logp.pop("", None)  # the C trie has no empty word
        # The C walks a trie, which holds every prefix of a word; jieba's FREQ holds them too (its
        # gen_pfdict and add_word add them), but a FREQ built another way may not: add what is missing.
        logp = self._logp
        for word in [word for word in logp if len(word) > 1 and word[:-1] not in logp]:
            for end in range(1, len(word)):
                logp.setdefault(word[:end], None)
        self._lone = 0.0 - logtotal  # log(1) - logtotal: a character that is no word
        self._start = _state_row(start_p)
        self._trans = [_state_row(_get_item(trans_p, y0)) for y0 in _STATES]
        emit = []
        for y in _STATES:
            table = _get_item(emit_p, y)
            if not isinstance(table, dict):
                raise TypeError("emit_p rows must be dicts")
            # Viterbi only ever sees Han characters; the rest are MIN_FLOAT as in C.
            emit.append(
                {
                    char: _as_double(prob)
                    for char, prob in table.items()
                    if isinstance(char, str) and len(char) == 1 and _is_han(char)
                }
            )
        self._emit = emit
        self._ready = True

    def cut(self, text: str) -> list[str]:
        """cut(text) -> list[str]: jieba's lcut(text, cut_all=False, HMM=True) with this dictionary."""
        if not isinstance(text, str):
            raise TypeError("cut() takes a str")
        if not self._ready:
            raise RuntimeError("Dictionary is not initialized")
        out: list[str] = []
        pieces = _RE_BLOCK.split(text)
        cut_block, append, extend = self._cut_block, out.append, out.extend
        for position, piece in enumerate(pieces):
            if not piece:
                continue
            if position & 1:  # a re_han_default block
                cut_block(piece, out)
            elif "\r\n" not in piece:  # every character one token
                extend(piece)
            else:  # re_skip_default: "\r\n" is one token
                for skip_position, part in enumerate(_RE_SKIP.split(piece)):
                    if skip_position & 1:
                        append(part)
                    else:
                        extend(part)
        return out

    def _cut_block(self, sentence: str, out: list[str]) -> None:
        """Tokenizer.__cut_DAG on one re_han_default block (get_DAG and calc in one backward pass)."""
        logp = self._logp
        get = logp.get
        lone = self._lone
        length = len(sentence)
        route_prob = [0.0] * (length + 1)
        route_end = [0] * length
        absent = _ABSENT
        for k in range(length - 1, -1, -1):
            best = 0.0
            best_end = -1
            word_logp = get(sentence[k], absent)
            i = k
            # get_DAG's walk: frag in FREQ; a word where FREQ[frag] > 0. calc's max((prob, x)) over
            # ascending x, ">=" keeping the larger x on a tie.
            while word_logp is not absent:
                if word_logp is not None:
                    prob = word_logp + route_prob[i + 1]
                    if best_end < 0 or prob >= best:
                        best = prob
                        best_end = i
                i += 1
                if i == length:
                    break
                word_logp = get(sentence[k : i + 1], absent)
            if best_end < 0:
                best = lone + route_prob[k + 1]
                best_end = k
            route_prob[k] = best
            route_end[k] = best_end
        append = out.append
        x = 0
        buffer_start = -1
        while x < length:
            y = route_end[x] + 1
            if y - x == 1:
                if buffer_start < 0:
                    buffer_start = x
            else:
                if buffer_start >= 0:
                    self._flush(sentence[buffer_start:x], out, get)
                    buffer_start = -1
                append(sentence[x:y])
            x = y
        if buffer_start >= 0:
            self._flush(sentence[buffer_start:], out, get)

    def _flush(self, buffer: str, out: list[str], get: Callable[[str], float | None]) -> None:
        if len(buffer) == 1:
            out.append(buffer)
        elif get(buffer) is None:  # not FREQ.get(buf): finalseg.cut
            for position, piece in enumerate(_RE_HMM_HAN.split(buffer)):
                if position & 1:
                    self._viterbi_cut(piece, out)
                elif piece:
                    out.extend(part for part in _RE_HMM_SKIP.split(piece) if part)
        else:
            out.extend(buffer)

    def _viterbi_cut(self, sentence: str, out: list[str]) -> None:
        """finalseg.__cut: Viterbi over B, E, M, S; on a tie the later state letter wins, as jieba's
        max((prob, state)) has it."""
        (start_b, start_e, start_m, start_s) = self._start
        (tbb, tbe, tbm, tbs), (teb, tee, tem, tes), (tmb, tme, tmm, tms), (tsb, tse, tsm, tss) = self._trans
        emit_b, emit_e, emit_m, emit_s = (table.get for table in self._emit)
        char = sentence[0]
        vb = start_b + emit_b(char, MIN_FLOAT)
        ve = start_e + emit_e(char, MIN_FLOAT)
        vm = start_m + emit_m(char, MIN_FLOAT)
        vs = start_s + emit_s(char, MIN_FLOAT)
        back: list[tuple[int, int, int, int]] = []  # per position: the best previous state of B, E, M, S
        for char in sentence[1:]:
            em = emit_b(char, MIN_FLOAT)
            from_e, from_s = ve + teb + em, vs + tsb + em  # B from E or S
            nb, bb = (from_e, 1) if from_e > from_s else (from_s, 3)
            em = emit_e(char, MIN_FLOAT)
            from_b, from_m = vb + tbe + em, vm + tme + em  # E from B or M
            ne, be = (from_b, 0) if from_b > from_m else (from_m, 2)
            em = emit_m(char, MIN_FLOAT)
            from_m, from_b = vm + tmm + em, vb + tbm + em  # M from M or B
            nm, bm = (from_b, 0) if from_b > from_m else (from_m, 2)
            em = emit_s(char, MIN_FLOAT)
            from_s, from_e = vs + tss + em, ve + tes + em  # S from S or E
            ns, bs = (from_e, 1) if from_e > from_s else (from_s, 3)
            vb, ve, vm, vs = nb, ne, nm, ns
            back.append((bb, be, bm, bs))
        state = 3 if vs >= ve else 1  # max((V[-1][y], y) for y in "ES"): S wins a tie
        length = len(sentence)
        states = [0] * length
        for t in range(length - 1, -1, -1):
            states[t] = state
            if t > 0:
                state = back[t - 1][state]
        append = out.append
        begin = nexti = 0
        for i, pos in enumerate(states):
            if pos == 0:  # B
                begin = i
            elif pos == 1:  # E
                append(sentence[begin : i + 1])
                nexti = i + 1
            elif pos == 3:  # S
                append(sentence[i])
                nexti = i + 1
        if nexti < length:
            append(sentence[nexti:])


def _get_item(mapping: Mapping[str, Any], key: str) -> Any:
    return mapping[key]


def _state_row(mapping: Mapping[str, Any]) -> tuple[float, float, float, float]:
    """The B, E, M, S values of a mapping; MIN_FLOAT for a missing state (as the C reads them)."""
    row = []
    for state in _STATES:
        try:
            value = mapping[state]
        except KeyError:
            row.append(MIN_FLOAT)
            continue
        try:
            row.append(_as_double(value))
        except (TypeError, ValueError):
            raise TypeError("expected float values") from None
    return (row[0], row[1], row[2], row[3])


# --- scan(): transforms.segment's tokenizer loop --------------------------------------------------

_SPAN_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
# weibo_text._EMOTICON and _MENTION as _fastseg.scan matches them itself (common_token_end).
_EMOTICON_AT = re.compile(rf"\[[{_SPAN_CJK}A-Za-z0-9]{{1,8}}\]")
_MENTION_AT = re.compile(rf"(?<![A-Za-z0-9_])@[{_SPAN_CJK}A-Za-z0-9_\-]{{1,30}}")
_KANA_HANGUL = re.compile("[\u3040-\u30ff\u31f0-\u31ff\uac00-\ud7af]")
_REGEX_SYMBOLS = frozenset("#+&._%-")


@lru_cache(maxsize=64)
def _candidates(han_firsts: str) -> re.Pattern[str]:
    """Where the scan must look: whitespace runs, and where a protected token may start (_fastseg.c's
    may_start_token): a Han character only if a user term starts with it; a word character (not Han),
    or one of #@[+&._%-, always; any other mark only when the next character is the same mark."""
    firsts = "".join(re.escape(char) for char in dict.fromkeys(han_firsts) if _is_han(char))
    han = f"|[{firsts}]" if firsts else ""
    return re.compile(rf"(?P<space>\s+)|[^\W\u4e00-\u9fd5]|[#@\[+&._%\-]|(?P<mark>[^\w\s])(?=(?P=mark)){han}")


@lru_cache(maxsize=8)
def _run_splitter(rules: tuple[str, ...]) -> re.Pattern[str]:
    """Zero-width matches where a Chinese run ends (segment._RUN_RULES): after a numeral before a measure
    word, after 不 before a modal, after an adverb before 是."""
    if not isinstance(rules, tuple) or len(rules) != 6:
        raise TypeError("scan() rules must be segment._RUN_RULES, a tuple of 6 str")
    if not all(isinstance(chars, str) for chars in rules):
        raise TypeError("scan() rules must be str")
    if not all(_is_han(char) for chars in rules for char in chars):
        raise ValueError("run rules must be Chinese characters")
    classes = ["[" + "".join(map(re.escape, chars)) + "]" if chars else "(?!)" for chars in rules]
    numeral, measure, negation, modal, adverb, copula = classes
    return re.compile(rf"(?<={numeral})(?={measure})|(?<={negation})(?={modal})|(?<={adverb})(?={copula})")


def scan(
    text: str,
    match: Callable[[str, int], Any],
    han_firsts: str,
    rules: tuple[str, ...],
    cutter: Dictionary | Callable[[str], Any],
) -> list[str]:
    """scan(text, match, han_firsts, rules, cutter) -> list[str]: match(text, pos) is the protected-token
    regex's bound .match, rules segment._RUN_RULES, cutter a Dictionary or a Python cut function."""
    if not isinstance(text, str) or not isinstance(han_firsts, str):
        raise TypeError("scan() text and han_firsts must be str")
    try:
        splitter = _run_splitter(rules)
    except TypeError as error:
        if isinstance(rules, tuple) and len(rules) == 6 and all(isinstance(c, str) for c in rules):
            raise
        raise TypeError(str(error) or "scan() rules must be segment._RUN_RULES, a tuple of 6 str") from None
    out: list[str] = []
    append, extend = out.append, out.extend
    if isinstance(cutter, Dictionary):
        if not cutter._ready:
            raise RuntimeError("Dictionary is not initialized")
        cut_block = cutter._cut_block

        def cut_run(run: str) -> None:
            cut_block(run, out)  # a run is all Han: one re_han_default block
    else:

        def cut_run(run: str) -> None:
            extend(cutter(run))

    def emit_gap(gap: str) -> None:
        # Chinese runs (cut at the run boundaries) to the cutter, every other character one token.
        for position, piece in enumerate(_RE_HAN_RUN.split(gap)):
            if not position & 1:
                extend(piece)
            elif len(piece) == 1:
                cut_run(piece)
            else:
                for run in splitter.split(piece):
                    cut_run(run)

    search = _candidates(han_firsts).search
    length = len(text)
    gap = i = 0
    while True:
        found = search(text, i)
        if found is None:
            break
        i = found.start()
        if found.lastgroup == "space":
            if gap < i:
                emit_gap(text[gap:i])
            i = gap = found.end()
            continue
        end = _token_end(text, i, match, length)
        if end > i:
            if gap < i:
                emit_gap(text[gap:i])
            append(text[i:end])
            i = gap = end
        else:
            i += 1
    if gap < length:
        emit_gap(text[gap:])
    return out


def _token_end(text: str, i: int, match: Callable[[str, int], Any], length: int) -> int:
    """The end of the protected token at text[i], i when none starts there (_fastseg.c's
    common_token_end, then the caller's regex where that needs it)."""
    char = text[i]
    if not _is_han(char):
        if char == "[":
            found = _EMOTICON_AT.match(text, i)
            if found:
                return found.end()
        elif char == "@":
            found = _MENTION_AT.match(text, i)
            if found:
                return found.end()
        elif char.isalnum() or char == "_" or char in _REGEX_SYMBOLS or _KANA_HANGUL.match(char):
            return _regex_end(text, i, match)
        # ([^\w\s])\1+
        j = i + 1
        while j < length and text[j] == char:
            j += 1
        return j if j > i + 1 else i
    return _regex_end(text, i, match)


def _regex_end(text: str, i: int, match: Callable[[str, int], Any]) -> int:
    found = match(text, i)
    return i if found is None else found.end()


# --- Normalizer: weibo_text's normalization ---------------------------------------------------------


class Normalizer:
    """str.translate with a BMP table, then whitespace collapsed, in one pass."""

    def __init__(self, table: dict[int, int | None]) -> None:
        if not isinstance(table, dict):
            raise TypeError(f"Normalizer() argument 1 must be dict, not {type(table).__name__}")
        for key, value in table.items():
            if (
                not isinstance(key, int)
                or not 0 <= key < 0x10000
                or not (value is None or (isinstance(value, int) and 0 <= value < 0x10000))
            ):
                raise ValueError("Normalizer takes {BMP code point: BMP code point or None}")
        self._table: dict[int, int | None] = {int(key): table[key] for key in table}

    def normalize(self, text: str) -> str:
        """normalize(text) -> str: translated, whitespace runs to one space, stripped."""
        if not isinstance(text, str) or not hasattr(self, "_table"):
            raise TypeError("normalize() takes a str (and an initialized Normalizer)")
        # str.split() splits on the characters Py_UNICODE_ISSPACE holds, as the C does.
        return " ".join(text.translate(self._table).split())


# --- lookup_entries(): post_text's memo lookup ------------------------------------------------------


def lookup_entries(memo: dict[str, Any], tokens: list[str]) -> tuple[list[Any], int]:
    """lookup_entries(memo, tokens) -> (entries, missing): memo.get of each token, and how many were None."""
    if type(memo) is not dict or not isinstance(tokens, list):
        raise TypeError("lookup_entries(memo, tokens): a dict and a list")
    if tokens and set(map(type, tokens)) != {str}:
        raise TypeError("lookup_entries() tokens must be str")
    # missing counts the tokens the memo does not hold (a memo value of None is not missing), as in C.
    return list(map(memo.get, tokens)), len(tokens) - sum(map(memo.__contains__, tokens))


# --- sentiment_pass(): the scorer's lexicon pass ----------------------------------------------------

_FAR_AWAY = -(1 << 30)


def _crosses_boundary(boundary_chars: Any, tokens: list[str], start: int, end: int) -> bool:
    """Whether a token starting with a clause boundary lies strictly between positions start and end."""
    for position in range(max(start + 1, 0), end):
        token = tokens[position]
        if token and token[0] in boundary_chars:
            return True
    return False


def _join_tokens(tables: Any, tokens: list[str], count: int, index: int, word_kind: int) -> tuple[float, int]:
    """SentimentScorer._join: the weight of the longest lexicon word made of tokens[index:index + k]
    (2 <= k <= 4) and k; step 0 when there is none."""
    base, join_prefixes = tables[3], tables[2]
    value, step = 0.0, 0
    joined = tokens[index]
    for end in range(index + 1, min(index + 4, count)):
        joined += tokens[end]
        entry = base.get(joined)
        if entry is not None:
            if not isinstance(entry, tuple) or len(entry) < 2:
                raise TypeError("lexicon entries must be (kind, weight)")
            if entry[0] == word_kind:
                value = _as_double(entry[1])
                step = end - index + 1
        if joined not in join_prefixes:
            break
    return value, step


def sentiment_pass(tokens: list[str], entries: list[Any], tables: Any) -> tuple[float, int]:
    """sentiment_pass(tokens, entries, tables) -> (total, hits): SentimentScorer's lexicon pass
    (_pass_entries_reference), the same arithmetic in the same order."""
    if not isinstance(tokens, list) or not isinstance(entries, list) or len(tokens) != len(entries):
        raise TypeError("sentiment_pass(tokens, entries, tables): two lists of one length")
    if not isinstance(tables, tuple) or len(tables) != 16:
        raise TypeError("sentiment_pass() tables must be a sentiment._PassTables")
    join_starts, join_pairs, _join_prefixes, base, degree_words, boundary_chars = tables[:6]
    sets = (join_starts, join_pairs, _join_prefixes, boundary_chars)
    if not all(isinstance(table, set | frozenset) for table in sets) or not (
        isinstance(base, dict) and isinstance(degree_words, dict)
    ):
        raise TypeError("sentiment_pass() tables hold sets and dicts in a fixed order")
    word, emoticon, negation, degree_kind, contrast, prefix = (_as_index(kind) for kind in tables[6:12])
    degree_window, negation_window = _as_index(tables[12]), _as_index(tables[13])
    negated_factor, contrast_factor = _as_double(tables[14]), _as_double(tables[15])
    well_formed = (
        all(map(isinstance, tokens, repeat(str)))
        and all(map(isinstance, entries, repeat(tuple)))
        and (not entries or min(map(len, entries)) >= 2)
    )
    if well_formed:
        kinds = list(map(_as_index, map(_FIRST, entries)))
    else:  # find the first bad token or entry, as the C reads them (types, then the kind, per position)
        kinds = []
        for token, entry in zip(tokens, entries):  # noqa: B905 (lengths checked above)
            if not isinstance(entry, tuple) or len(entry) < 2 or not isinstance(token, str):
                raise TypeError("sentiment_pass() takes str tokens and (kind, weight, ...) entries")
            kinds.append(_as_index(entry[0]))
    count = len(tokens)
    total = 0.0
    degree = 1.0
    hits = 0
    negation_at = degree_at = _FAR_AWAY
    skip_to = 0
    negated = False
    for index in compress(range(count), kinds):  # only the tokens that mean something (kind != 0)
        if index < skip_to:
            continue
        kind = kinds[index]
        token = tokens[index]
        joined_word = False
        value = 0.0
        if index + 1 < count and token in join_starts:
            step = 0
            if token + tokens[index + 1] in join_pairs:
                value, step = _join_tokens(tables, tokens, count, index, word)
            if step:
                kind = word
                skip_to = index + step
                joined_word = True
            elif kind == prefix:
                continue
        if not joined_word:
            value = entries[index][1]
            if type(value) is not float:
                value = _as_double(value)
        if kind == word:
            if index + 1 < count and kinds[index + 1] == word:
                multiplier = degree_words.get(token)
                if multiplier is not None:  # 好/真 before a sentiment word act as degree words: 好开心
                    factor = _as_double(multiplier)
                    degree = degree * factor if index - degree_at <= degree_window else factor
                    degree_at = index
                    continue
            if index - degree_at <= degree_window and not _crosses_boundary(
                boundary_chars, tokens, degree_at, index
            ):
                value *= degree
            if (
                negated
                and index - negation_at <= negation_window
                and not _crosses_boundary(boundary_chars, tokens, negation_at, index)
            ):
                value *= negated_factor
            total += value
            hits += 1
            negation_at = degree_at = _FAR_AWAY
            negated = False
        elif kind == emoticon:
            total += value
            hits += 1
        elif kind == negation:
            same_clause = index - negation_at <= negation_window and not _crosses_boundary(
                boundary_chars, tokens, negation_at, index
            )
            negated = not negated if same_clause else True  # 不是不好: two negations cancel
            negation_at = index
        elif kind == degree_kind:
            same_clause = index - degree_at <= degree_window and not _crosses_boundary(
                boundary_chars, tokens, degree_at, index
            )
            degree = degree * value if same_clause else value
            degree_at = index
        elif kind == contrast:
            total *= contrast_factor
    return total, hits


# --- tally_terms(): post_text's term counts and keywords --------------------------------------------


def _fast_tallies(distinct: list[Any], occurrences: Counter[int]) -> list[list[Any]] | None:
    """[key, count, idf or None] of the entries with a key, when every entry is well formed and every
    idf a float or None; else None."""
    if not all(map(isinstance, distinct, repeat(tuple))) or (distinct and min(map(len, distinct)) < 4):
        return None
    keyed = [entry for entry in distinct if entry[2] is not None]
    keys = list(map(_THIRD, keyed))
    if keys and not (
        all(map(isinstance, keys, repeat(tuple)))
        and set(map(len, keys)) == {2}
        and all(map(isinstance, map(_FIRST, keys), repeat(str)))
    ):
        return None
    idfs = list(map(_FOURTH, keyed))
    if not all(idf is None or type(idf) is float for idf in idfs):
        return None
    counts = map(occurrences.__getitem__, map(id, keyed))
    return [[key, count, idf] for key, count, idf in zip(keys, counts, idfs)]  # noqa: B905 (one length)


def _checked_tallies(distinct: list[Any], occurrences: Counter[int]) -> list[list[Any]]:
    tallies: list[list[Any]] = []
    for entry in distinct:
        if not isinstance(entry, tuple) or len(entry) < 4:
            raise TypeError("tally_terms() entries must be tuples of 4 or more items")
        key = entry[2]
        if key is None:
            continue
        if not isinstance(key, tuple) or len(key) != 2 or not isinstance(key[0], str):
            raise TypeError("tally_terms() term keys must be (term, kind) tuples")
        idf = entry[3]
        tallies.append([key, occurrences[id(entry)], None if idf is None else _as_double(idf)])
    return tallies


def tally_terms(entries: Any, top_k: int) -> tuple[dict[tuple[str, str], int], list[tuple[str, float]]]:
    """tally_terms(entries, top_k) -> (counts, keywords): term counts and top keywords of one post.

    Each entry is a tuple (post_text._TokenEntry) whose items 2 and 3 are the token's (term, kind) key
    or None, and its keyword IDF or None. counts: {key: occurrences} in order of first occurrence;
    keywords: the top_k [(term, weight)] of the keyword candidates by TF-IDF weight (count * idf / their
    occurrences), then term, the weights rounded to 6 places.
    """
    top_k = _as_index(top_k)
    try:
        items = entries if isinstance(entries, (list, tuple)) else list(entries)
    except TypeError:
        raise TypeError("tally_terms() takes a sequence of tuples") from None
    # Distinct entries by object (a token's entry is one tuple in the caller's memo), in order.
    occurrences = Counter(map(id, items))
    distinct = list(dict(zip(map(id, items), items, strict=True)).values())
    tallies = _fast_tallies(distinct, occurrences)
    if tallies is None:  # something to convert or to refuse: entry by entry, as the C reads them
        tallies = _checked_tallies(distinct, occurrences)
    counts: dict[tuple[str, str], int] = {key: count for key, count, _idf in tallies}
    if len(counts) != len(tallies):  # an equal key from another entry: merge by term string
        merged: dict[str, list[Any]] = {}
        for tally in tallies:
            known = merged.get(tally[0][0])
            if known is not None:
                known[1] += tally[1]
            else:
                merged[tally[0][0]] = tally
        tallies = list(merged.values())
        counts = {}
        for key, count, _idf in tallies:
            counts.setdefault(key, count)
    keywords: list[tuple[str, float]] = []
    ranked = [(-count * idf, key[0]) for key, count, idf in tallies if idf is not None]
    if ranked and top_k > 0:
        kept = sum(count for _key, count, idf in tallies if idf is not None)
        ranked.sort()
        keywords = [(term, round(-negative_score / kept, 6)) for negative_score, term in ranked[:top_k]]
    return counts, keywords
