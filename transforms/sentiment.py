"""Sentiment of a Weibo post from the author's own words: lexicons, emoticons, negation, degree words.

One pass over the tokens with plain dict lookups (about 10 µs for a 30-token post):
- sentiment words (`config/sentiment/words.tsv`) and Weibo emoticons/emoji (`emoticons.tsv`) add their
  weight; emoticons are read as they are, words can be negated and scaled;
- a negation word (`negations.txt`) flips the next sentiment word within NEGATION_WINDOW tokens, a degree
  word (`degree.tsv`) scales it within DEGREE_WINDOW tokens; punctuation ends both windows;
- a contrast word (`contrast.txt`: 但是, 不过 ...) halves what came before it.
Tokens the lexicons do not hold are analysed once and cached: trailing particles (开心啊), negation or
degree prefixes glued by the segmenter (很无语, 不开心), intensifying suffixes (累死), repeats (哈哈哈哈,
66666). Words the segmenter split apart (么|么|哒) are joined back while their pieces are prefixes of
a lexicon word.

The raw total becomes a score in [-1, 1] as total / (1 + |total|). A model written by
`shengliang sentiment train` (logistic regression over tokens plus that lexicon score) replaces this
last step; set SHENGLIANG_SENTIMENT_MODEL to its path to make the pipeline use it (`configured_scorer`).

All lexicons were written for this project; see the header of each file.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress, repeat
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

from extractors.errors import ShengliangError
from transforms._accel import sentiment_pass
from transforms.weibo_text import RepostLink, clean_weibo_text, iter_spans, new_frozen

__all__ = [
    "BINARY_RULE",
    "Evaluation",
    "LEXICON_DIR",
    "MODEL_ENV",
    "LabelledPost",
    "Sentiment",
    "SentimentDataError",
    "SentimentScorer",
    "TokenSentiment",
    "configured_model_path",
    "configured_scorer",
    "default_tokenizer",
    "evaluate",
    "fallback_tokenize",
    "read_labelled_tsv",
    "train_model",
    "write_model",
]

LEXICON_DIR = Path(__file__).resolve().parent.parent / "config" / "sentiment"
MODEL_ENV = "SHENGLIANG_SENTIMENT_MODEL"
MODEL_FORMAT = "shengliang-sentiment-model"

NEGATION_WINDOW = 3  # tokens after a negation word in which a sentiment word is flipped
DEGREE_WINDOW = 2  # tokens after a degree word in which a sentiment word is scaled
NEGATED_FACTOR = -0.8  # 不好 is a little less negative than 好 is positive
SUFFIX_FACTOR = 1.5  # 累死, 好吃极了
CONTRAST_FACTOR = 0.5  # weight of what came before 但是
NEUTRAL_BAND = 0.1  # |score| below this is "neutral"
_MAX_CACHED_TOKENS = 500_000

# Token kinds in the lookup table.
# _NONE is 0 so that compress() skips it; _PREFIX is a token meaning nothing alone that may start a
# lexicon word the segmenter split (么 of 么|么|哒).
_NONE, _WORD, _EMOTICON, _NEGATION, _DEGREE, _CONTRAST, _PREFIX = range(7)
# A token's (kind, weight) as the scorer reads it. The entries _pass_entries reads start with these two.
TokenSentiment = tuple[int, float]
_KIND_OF_ENTRY = itemgetter(0)

# A token starting with one of these ends a clause: negation and degree windows do not cross it.
_BOUNDARY_CHARS = frozenset('，。！？；,.!?;…~～、：:\n—「」“”"《》()（）/')
_TRAILING_PARTICLES = "了啦啊呀哦吧呢嘛哒滴的噢喔哈呐咯喽哇嘞"
_INTENSIFYING_SUFFIXES = ("死了", "死", "极了", "极", "坏了", "透了", "爆了", "炸了", "哭了", "翻了", "惨了")
_REPEAT_233_RE = re.compile(r"^23{2,}$")
_INVISIBLE = dict.fromkeys(map(ord, "\ufe0f\ufe0e\u200d"))


@dataclass(frozen=True)
class Sentiment:
    """A post's sentiment: score in [-1, 1] and label "positive" | "neutral" | "negative"."""

    score: float
    label: str


@dataclass(frozen=True)
class LabelledPost:
    """One `label<TAB>text` line: label 1 = positive, 0 = negative."""

    label: int
    text: str
    line: int


class SentimentDataError(ShengliangError):
    """A labelled TSV or a model file is malformed; the message names the file and line."""


@dataclass(frozen=True)
class _Lexicons:
    words: dict[str, float]
    emoticons: dict[str, float]
    negations: frozenset[str]
    degrees: dict[str, float]
    contrasts: frozenset[str]


@dataclass(frozen=True)
class _Model:
    bias: float
    lexicon_weight: float
    token_weights: dict[str, float]


class _PassTables(NamedTuple):
    """What _accel.sentiment_pass reads, by position in this order (its SentimentTables struct)."""

    join_starts: frozenset[str]
    join_pairs: frozenset[str]
    join_prefixes: frozenset[str]
    base: dict[str, tuple[int, float]]
    degree_words: dict[str, float]
    boundary_chars: frozenset[str]
    word: int
    emoticon: int
    negation: int
    degree: int
    contrast: int
    prefix: int
    degree_window: int
    negation_window: int
    negated_factor: float
    contrast_factor: float


class SentimentScorer:
    """Scores tokens of a post's own words. Build once (`default()`), call from many threads."""

    def __init__(
        self,
        lexicons: _Lexicons,
        model: _Model | None = None,
        tokenize: Callable[[str], list[str]] | None = None,
    ) -> None:
        self._lexicons = lexicons
        self._model = model
        self._base = _build_table(lexicons)  # the lexicons alone, never grows
        # Lexicon words the segmenter cuts into pieces (么|么|哒): their first pieces, and every run of
        # leading pieces, so that _join can glue them back.
        self._join_starts, self._join_prefixes = _split_words(lexicons.words, tokenize or default_tokenizer())
        # What two glued tokens must be for _join to find anything: a lexicon word or a longer word's
        # leading pieces. Checked before calling _join, which most join starts (我, 是, 不) do not need.
        words = {word for word, (kind, _weight) in self._base.items() if kind == _WORD}
        self._join_pairs = self._join_prefixes | words
        # The hot path's table: (kind, weight) per token, growing with every new token analysed.
        self._table = dict(self._base)
        self._degree_words = lexicons.degrees
        self._negations_longest_first = tuple(sorted(lexicons.negations, key=len, reverse=True))
        self._degrees_longest_first = tuple(sorted(lexicons.degrees, key=len, reverse=True))
        self._lock = threading.Lock()
        self._pass_tables = _PassTables(
            join_starts=self._join_starts,
            join_pairs=self._join_pairs,
            join_prefixes=self._join_prefixes,
            base=self._base,
            degree_words=self._degree_words,
            boundary_chars=_BOUNDARY_CHARS,
            word=_WORD,
            emoticon=_EMOTICON,
            negation=_NEGATION,
            degree=_DEGREE,
            contrast=_CONTRAST,
            prefix=_PREFIX,
            degree_window=DEGREE_WINDOW,
            negation_window=NEGATION_WINDOW,
            negated_factor=NEGATED_FACTOR,
            contrast_factor=CONTRAST_FACTOR,
        )

    @classmethod
    def default(cls) -> SentimentScorer:
        """The shipped lexicons (no model), loaded once per process."""
        return _default_scorer()

    @classmethod
    def from_model(cls, path: str | Path) -> SentimentScorer:
        """Shipped lexicons plus a model written by `shengliang sentiment train`."""
        return cls(_load_lexicons(LEXICON_DIR), _read_model(Path(path)))

    @classmethod
    def from_lexicon_dir(cls, directory: str | Path) -> SentimentScorer:
        """Lexicons from another directory with the same five files (for tests and custom lexicons)."""
        return cls(_load_lexicons(Path(directory)))

    @property
    def has_model(self) -> bool:
        return self._model is not None

    def score_tokens(self, tokens: Sequence[str]) -> Sentiment:
        """Sentiment of the author's own words, as the segmenter's tokens in order."""
        total, _hits, model_sum = self._pass(tokens)
        return self._finish(total, model_sum)

    def score_text(self, raw_text: str, tokenize: Callable[[str], list[str]] | None = None) -> Sentiment:
        """Clean a raw post, score its own words; if those carry no signal, score the repost chain."""
        tokens = self.select_tokens(raw_text, tokenize)
        return self.score_tokens(tokens)

    def select_tokens(self, raw_text: str, tokenize: Callable[[str], list[str]] | None = None) -> list[str]:
        """The tokens score_text scores: own words, or the chain's when the own words carry no signal."""
        tokenize = tokenize or default_tokenizer()
        clean = clean_weibo_text(raw_text)
        tokens = tokenize(clean.own_text) if clean.own_text else []
        if not clean.chain or self.has_signal(tokens):
            return tokens
        return chain_tokens(clean.chain, tokenize)

    def score_with_signal(self, tokens: Sequence[str]) -> tuple[Sentiment, bool]:
        """score_tokens and has_signal in one pass."""
        total, hits, model_sum = self._pass(tokens)
        return self._finish(total, model_sum), hits > 0

    def token_sentiment(self, token: str) -> TokenSentiment:
        """What one token means to the scorer: (kind, weight), kind 0 for a token meaning nothing alone.
        For callers that keep their own memo of per-token data (transforms.post_text)."""
        entry = self._table.get(token)
        return entry if entry is not None else self._analyze(token)

    def score_entries_with_signal(
        self, tokens: Sequence[str], entries: Sequence[Sequence[Any]]
    ) -> tuple[Sentiment, bool]:
        """score_with_signal(tokens), where entries[i] starts with the two items of
        token_sentiment(tokens[i]) (the caller's own memo: no lookup here)."""
        total, hits, model_sum = self._pass_entries(tokens, entries)
        return self._finish(total, model_sum), hits > 0

    def has_signal(self, tokens: Sequence[str]) -> bool:
        """Whether the tokens hold any sentiment word or emoticon (else callers read the repost chain)."""
        return self._pass(tokens)[1] > 0

    def lexicon_score(self, tokens: Sequence[str]) -> float:
        """The lexicon-only score in [-1, 1], whatever model is loaded (the model's input feature)."""
        total = self._pass(tokens)[0]
        return total / (1.0 + abs(total))

    # --- the one pass ---------------------------------------------------------------------------

    def _pass(self, tokens: Sequence[str]) -> tuple[float, int, float]:
        """(lexicon total, number of sentiment hits, sum of model token weights)."""
        known = self._table.get
        entries = list(map(known, tokens))
        if not all(entries):  # tokens never seen before: analyse once, cached for every later post
            analyze = self._analyze
            entries = [entry or analyze(token) for token, entry in zip(tokens, entries, strict=True)]
        return self._pass_entries(tokens, entries)

    def _pass_entries(
        self, tokens: Sequence[str], entries: Sequence[Sequence[Any]]
    ) -> tuple[float, int, float]:
        """_pass with each token's (kind, weight, ...) entry given; the loop is _accel.sentiment_pass,
        which the tests hold equal to _pass_entries_reference."""
        tokens = tokens if isinstance(tokens, list) else list(tokens)
        entries = entries if isinstance(entries, list) else list(entries)
        total, hits = sentiment_pass(tokens, entries, self._pass_tables)
        return total, hits, (0.0 if self._model is None else self._model_sum(tokens))

    def _pass_entries_reference(
        self, tokens: Sequence[str], entries: Sequence[Sequence[Any]]
    ) -> tuple[float, int, float]:
        """_pass_entries in Python: the rules as they read best.

        Only the tokens that mean something (kind != 0, a few per post) go through the loop. Windows
        are measured in token positions.
        """
        kinds: list[int] = list(map(_KIND_OF_ENTRY, entries))
        join_starts, join_pairs, degree_words = self._join_starts, self._join_pairs, self._degree_words
        total = 0.0
        hits = 0
        negation_at = degree_at = -(1 << 30)  # position of the last negation / degree word
        negated = False
        degree = 1.0
        skip_to = 0
        count = len(tokens)
        for index in compress(range(count), kinds):
            if index < skip_to:
                continue
            token = tokens[index]
            kind = kinds[index]
            if token in join_starts and index + 1 < count:
                joined = self._join(tokens, index) if token + tokens[index + 1] in join_pairs else None
                if joined is not None:
                    value, step = joined
                    kind = _WORD
                    skip_to = index + step
                elif kind == _PREFIX:
                    continue
                else:
                    value = entries[index][1]
            else:
                value = entries[index][1]
            if kind == _WORD:
                if token in degree_words and index + 1 < count and kinds[index + 1] == _WORD:
                    multiplier = degree_words[token]
                    degree = degree * multiplier if index - degree_at <= DEGREE_WINDOW else multiplier
                    degree_at = index  # 好/真 before a sentiment word act as degree words: 好开心
                    continue
                if index - degree_at <= DEGREE_WINDOW and not _crosses_boundary(tokens, degree_at, index):
                    value *= degree
                if (
                    negated
                    and index - negation_at <= NEGATION_WINDOW
                    and not _crosses_boundary(tokens, negation_at, index)
                ):
                    value *= NEGATED_FACTOR
                total += value
                hits += 1
                negation_at = degree_at = -(1 << 30)
                negated = False
            elif kind == _EMOTICON:
                total += value
                hits += 1
            elif kind == _NEGATION:
                same_clause = index - negation_at <= NEGATION_WINDOW
                same_clause = same_clause and not _crosses_boundary(tokens, negation_at, index)
                negated = not negated if same_clause else True  # 不是不好: two negations cancel
                negation_at = index
            elif kind == _DEGREE:
                same_clause = index - degree_at <= DEGREE_WINDOW
                same_clause = same_clause and not _crosses_boundary(tokens, degree_at, index)
                degree = degree * value if same_clause else value
                degree_at = index
            elif kind == _CONTRAST:
                total *= CONTRAST_FACTOR
        return total, hits, self._model_sum(tokens)

    def _model_sum(self, tokens: Sequence[str]) -> float:
        """The sum of the model's token weights, 0.0 without a model."""
        if self._model is None:
            return 0.0
        # Presence, not counts: the model was trained on each post's distinct tokens.
        distinct = set(tokens)
        return sum(map(self._model.token_weights.get, distinct, repeat(0.0, len(distinct))))

    def _finish(self, total: float, model_sum: float) -> Sentiment:
        if self._model is None:
            score = total / (1.0 + abs(total))
        else:
            lexicon = total / (1.0 + abs(total))
            logit = self._model.bias + self._model.lexicon_weight * lexicon + model_sum
            score = math.tanh(logit / 2.0)  # = 2 * sigmoid(logit) - 1
        if score >= NEUTRAL_BAND:
            return new_frozen(Sentiment, {"score": score, "label": "positive"})
        if score <= -NEUTRAL_BAND:
            return new_frozen(Sentiment, {"score": score, "label": "negative"})
        return new_frozen(Sentiment, {"score": score, "label": "neutral"})

    def _join(self, tokens: Sequence[str], index: int) -> tuple[float, int] | None:
        """The weight of the longest lexicon word made of tokens[index:index+k] (k >= 2), and k."""
        joined = tokens[index]
        best = None
        for end in range(index + 1, min(index + 4, len(tokens))):
            joined += tokens[end]
            entry = self._base.get(joined)
            if entry is not None and entry[0] == _WORD:
                best = entry[1], end - index + 1
            if joined not in self._join_prefixes:
                break
        return best

    def _analyze(self, token: str) -> TokenSentiment:
        """token_sentiment of a token not in the table yet; added to it while it has room."""
        kind, value = self._derive(token, depth=0)
        if kind == _NONE and token in self._join_starts:
            kind = _PREFIX
        entry = (kind, value)
        if len(self._table) < _MAX_CACHED_TOKENS:
            with self._lock:
                self._table[token] = entry
        return entry

    def _derive(self, token: str, depth: int) -> tuple[int, float]:
        """What an unknown token means, from the lexicons (computed once per distinct token)."""
        base = self._base
        entry = base.get(token)
        if entry is not None:
            return entry
        plain = token.translate(_INVISIBLE).lower()
        if plain != token:
            return base.get(plain) or (self._derive(plain, depth) if plain else (_NONE, 0.0))
        if len(token) < 2 or depth > 2 or token.startswith("["):
            return (_NONE, 0.0)
        found = self._derive_word(token, depth)
        return (_WORD, found) if found else (_NONE, 0.0)

    def _word_weight(self, text: str, depth: int) -> float:
        entry = self._base.get(text)
        if entry is not None:
            return entry[1] if entry[0] == _WORD else 0.0
        if len(text) < 2:
            return 0.0
        return self._derive_word(text, depth + 1) if depth < 2 else 0.0

    def _derive_word(self, token: str, depth: int) -> float:
        lexicons = self._lexicons
        if len(set(token)) == 1:  # 哈哈哈哈, 66666, 呜呜呜呜
            for size in (3, 2, 1):
                weight = self._word_weight(token[:size], depth) if size > 1 else lexicons.words.get(token, 0)
                if weight:
                    return weight
        if _REPEAT_233_RE.match(token):
            return lexicons.words.get("233", 0.0)
        half = len(token) // 2
        if len(token) % 2 == 0 and token[:half] == token[half:]:  # 棒棒, 给力给力
            weight = self._word_weight(token[:half], depth)
            if weight:
                return weight
        core = token.rstrip(_TRAILING_PARTICLES)
        if core and core != token:
            weight = self._word_weight(core, depth)
            if weight:
                return weight
        for negation in self._negations_longest_first:
            if token.startswith(negation) and len(token) > len(negation):
                weight = self._word_weight(token[len(negation) :], depth)
                if weight:
                    return weight * NEGATED_FACTOR
        for degree_word in self._degrees_longest_first:
            if token.startswith(degree_word) and len(token) > len(degree_word):
                weight = self._word_weight(token[len(degree_word) :], depth)
                if weight:
                    return weight * lexicons.degrees[degree_word]
        for suffix in _INTENSIFYING_SUFFIXES:
            if token.endswith(suffix) and len(token) > len(suffix):
                weight = self._word_weight(token[: -len(suffix)], depth)
                if weight:
                    return weight * SUFFIX_FACTOR
        return 0.0


def _build_table(lexicons: _Lexicons) -> dict[str, tuple[int, float]]:
    table: dict[str, tuple[int, float]] = {}
    for word in lexicons.contrasts:
        table[word] = (_CONTRAST, 0.0)
    for word, multiplier in lexicons.degrees.items():
        table[word] = (_DEGREE, multiplier)
    for word in lexicons.negations:
        table[word] = (_NEGATION, 0.0)
    for word, weight in lexicons.words.items():
        table[word] = (_WORD, weight)  # a word in both lists (好) is a word; _pass makes it a degree
    for emoticon, weight in lexicons.emoticons.items():
        table[emoticon] = (_EMOTICON, weight)
    return table


def _split_words(
    words: dict[str, float], tokenize: Callable[[str], list[str]]
) -> tuple[frozenset[str], frozenset[str]]:
    """(first pieces, leading-piece runs) of the multi-character lexicon words `tokenize` cuts apart."""
    starts: set[str] = set()
    prefixes: set[str] = set()
    for word, weight in words.items():
        pieces = tokenize(word) if len(word) > 1 else [word]
        # Skip words whose pieces already score the same way on their own (我|爱你): gluing adds nothing.
        pieces_weight = sum(words.get(piece, 0.0) for piece in pieces)
        if len(pieces) > 1 and pieces_weight * weight <= 0:
            starts.add(pieces[0])
            for end in range(1, len(pieces)):
                prefixes.add("".join(pieces[:end]))
    return frozenset(starts), frozenset(prefixes)


def _crosses_boundary(tokens: Sequence[str], start: int, end: int) -> bool:
    """Whether a clause boundary (punctuation) lies strictly between positions start and end."""
    return any(token[:1] in _BOUNDARY_CHARS for token in tokens[start + 1 : end])


# --- lexicon files ------------------------------------------------------------------------------


def _lexicon_lines(path: Path) -> Iterable[tuple[int, str]]:
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            yield number, stripped


def _read_weights(path: Path) -> dict[str, float]:
    weights: dict[str, float] = {}
    for number, line in _lexicon_lines(path):
        parts = line.split("\t")
        try:
            if len(parts) != 2:
                raise ValueError
            weights[parts[0].strip()] = float(parts[1])
        except ValueError:
            raise SentimentDataError(f"{path}:{number}: expected 'word<TAB>number', got {line!r}") from None
    return weights


def _read_words(path: Path) -> frozenset[str]:
    return frozenset(line for _number, line in _lexicon_lines(path))


def _load_lexicons(directory: Path) -> _Lexicons:
    words = {word.lower(): weight for word, weight in _read_weights(directory / "words.tsv").items()}
    emoticon_weights = _read_weights(directory / "emoticons.tsv")
    emoticons = {token.lower(): weight for token, weight in emoticon_weights.items()}
    return _Lexicons(
        words={word: weight for word, weight in words.items() if weight},
        emoticons={token: weight for token, weight in emoticons.items() if weight},
        negations=_read_words(directory / "negations.txt"),
        degrees=_read_weights(directory / "degree.tsv"),
        contrasts=_read_words(directory / "contrast.txt"),
    )


@lru_cache(maxsize=1)
def _default_scorer() -> SentimentScorer:
    return SentimentScorer(_load_lexicons(LEXICON_DIR))


def chain_tokens(chain: Sequence[RepostLink], tokenize: Callable[[str], list[str]]) -> list[str]:
    """The tokens of a repost chain, each link its own clause: windows never cross from one to the next."""
    tokens: list[str] = []
    for link in chain:
        tokens += tokenize(link.text)
        tokens.append("。")
    return tokens


def configured_model_path() -> Path | None:
    """The trained model from SHENGLIANG_SENTIMENT_MODEL, or None for the shipped lexicons."""
    raw = os.environ.get(MODEL_ENV, "").strip()
    if not raw:
        return None
    path = Path(raw).expanduser()
    if not path.is_file():
        raise SentimentDataError(f"{MODEL_ENV}={raw!r} is not a file; unset it or train one")
    return path


def configured_scorer() -> SentimentScorer:
    """The pipeline's scorer: the model at SHENGLIANG_SENTIMENT_MODEL if set, else default()."""
    path = configured_model_path()
    return _model_scorer(str(path)) if path is not None else SentimentScorer.default()


@lru_cache(maxsize=4)
def _model_scorer(path: str) -> SentimentScorer:
    return SentimentScorer.from_model(path)


# --- tokenizer ------------------------------------------------------------------------------------


def fallback_tokenize(text: str) -> list[str]:
    """Emoticons, #topics#, @mentions and links whole, jieba (precise mode) for the text between."""
    import jieba

    tokens: list[str] = []
    for kind, value in iter_spans(text):
        if kind == "text":
            tokens.extend(token for token in jieba.lcut(value) if not token.isspace())
        else:
            tokens.append(value)
    return tokens


@lru_cache(maxsize=1)
def default_tokenizer() -> Callable[[str], list[str]]:
    """The project segmenter's `tokenize` where it has one, else `fallback_tokenize`."""
    from transforms import segment

    if hasattr(segment.Segmenter, "tokenize"):
        return segment.Segmenter().tokenize
    return fallback_tokenize


# --- labelled data, training, evaluation --------------------------------------------------------------


def read_labelled_tsv(path: str | Path) -> list[LabelledPost]:
    """`label<TAB>text` lines, label 1 (positive) or 0 (negative). The file may open with `#` comment
    lines, and its first line after them may be a `label<TAB>...` header. A `#` line further down is
    malformed (a post that lost its label, "#话题# ...", must not vanish).

    Raises SentimentDataError naming the file and line of the first malformed line.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise SentimentDataError(f"{path}: no such file") from None
    except UnicodeDecodeError as error:
        raise SentimentDataError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    posts: list[LabelledPost] = []
    preamble = True  # the opening comments, then possibly a header
    for number, line in enumerate(lines, start=1):
        if not line.strip() or (preamble and line.startswith("#")):
            continue
        label, tab, text = line.partition("\t")
        if preamble:
            preamble = False
            if tab and label.strip().lower() == "label":
                continue
        if not tab or label.strip() not in ("0", "1"):
            shown = line if len(line) <= 60 else line[:60] + "..."
            hint = "; '#' comments are allowed only at the top of the file" if line.startswith("#") else ""
            raise SentimentDataError(
                f"{path}:{number}: expected 'label<TAB>text' with label 1 (positive) or 0 (negative), "
                f"got {shown!r}{hint}"
            )
        posts.append(LabelledPost(int(label), text, number))
    if not posts:
        raise SentimentDataError(f"{path}: no labelled lines")
    return posts


@dataclass(frozen=True)
class Evaluation:
    """Binary accuracy: a post is predicted positive when its score is > 0, else negative."""

    count: int
    correct: int
    positives: int  # posts labelled 1
    negatives: int  # posts labelled 0
    predicted_positive: int
    correct_positive: int
    correct_negative: int
    ties: int  # score exactly 0 (no signal): counted as negative

    @property
    def accuracy(self) -> float:
        return self.correct / self.count if self.count else 0.0

    def describe(self) -> str:
        return (
            f"accuracy {self.accuracy:.4f} (n={self.count}; "
            f"positive {self.correct_positive}/{self.positives} right, "
            f"negative {self.correct_negative}/{self.negatives} right; "
            f"predicted positive {self.predicted_positive}; score 0 on {self.ties})"
        )


BINARY_RULE = "score > 0 -> positive (1), score <= 0 -> negative (0): posts with no signal count as negative"


def evaluate(
    scorer: SentimentScorer,
    posts: Sequence[LabelledPost],
    tokenize: Callable[[str], list[str]] | None = None,
) -> Evaluation:
    """Accuracy of `scorer.score_text` on labelled posts under BINARY_RULE."""
    correct = correct_positive = correct_negative = predicted_positive = ties = 0
    for post in posts:
        score = scorer.score_text(post.text, tokenize).score
        predicted = 1 if score > 0 else 0
        ties += score == 0
        predicted_positive += predicted
        if predicted == post.label:
            correct += 1
            correct_positive += predicted
            correct_negative += 1 - predicted
    positives = sum(post.label for post in posts)
    return Evaluation(
        count=len(posts),
        correct=correct,
        positives=positives,
        negatives=len(posts) - positives,
        predicted_positive=predicted_positive,
        correct_positive=correct_positive,
        correct_negative=correct_negative,
        ties=ties,
    )


def train_model(
    posts: Sequence[LabelledPost],
    tokenize: Callable[[str], list[str]] | None = None,
    *,
    min_count: int = 2,
    l2: float = 1e-3,
    iterations: int = 300,
    source: str = "",
) -> dict[str, object]:
    """Fit logistic regression on token presence plus the lexicon score; returns the JSON model."""
    import numpy as np

    lexicon_scorer = SentimentScorer.default()
    documents: list[list[str]] = []
    lexicon_scores: list[float] = []
    for post in posts:
        tokens = lexicon_scorer.select_tokens(post.text, tokenize)
        documents.append(sorted({token for token in tokens if not token.isspace()}))
        lexicon_scores.append(lexicon_scorer.lexicon_score(tokens))
    document_frequency: dict[str, int] = {}
    for tokens in documents:
        for token in tokens:
            document_frequency[token] = document_frequency.get(token, 0) + 1
    vocabulary = sorted(token for token, seen in document_frequency.items() if seen >= min_count)
    index = {token: position for position, token in enumerate(vocabulary)}
    rows = [row for row, tokens in enumerate(documents) for token in tokens if token in index]
    columns = [index[token] for tokens in documents for token in tokens if token in index]
    row_ids = np.asarray(rows, dtype=np.int64)
    column_ids = np.asarray(columns, dtype=np.int64)
    labels = np.asarray([post.label for post in posts], dtype=np.float64)
    lexicon = np.asarray(lexicon_scores, dtype=np.float64)
    size = len(posts)

    # Full-batch gradient descent with Adam; the lexicon weight and bias are not regularized.
    weights = np.zeros(len(vocabulary))
    params = np.zeros(2)  # bias, lexicon weight
    moments = [np.zeros_like(weights), np.zeros_like(weights), np.zeros(2), np.zeros(2)]
    rate, beta1, beta2, epsilon = 0.05, 0.9, 0.999, 1e-8
    for step in range(1, iterations + 1):
        logits = params[0] + params[1] * lexicon + np.bincount(row_ids, weights[column_ids], minlength=size)
        error = 1.0 / (1.0 + np.exp(-logits)) - labels
        gradient = np.bincount(column_ids, error[row_ids], minlength=len(vocabulary)) / size + l2 * weights
        gradient_params = np.array([error.mean(), (error * lexicon).mean()])
        for value, grad, first, second in (
            (weights, gradient, moments[0], moments[1]),
            (params, gradient_params, moments[2], moments[3]),
        ):
            first *= beta1
            first += (1 - beta1) * grad
            second *= beta2
            second += (1 - beta2) * grad * grad
            value -= rate * (first / (1 - beta1**step)) / (np.sqrt(second / (1 - beta2**step)) + epsilon)
    token_weights = {token: round(float(value), 5) for token, value in zip(vocabulary, weights, strict=True)}
    return {
        "format": MODEL_FORMAT,
        "version": 1,
        "source": source,
        "posts": size,
        "bias": float(params[0]),
        "lexicon_weight": float(params[1]),
        "token_weights": {token: weight for token, weight in token_weights.items() if abs(weight) >= 1e-4},
    }


def write_model(model: dict[str, object], path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(model, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")


def _read_model(path: Path) -> _Model:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SentimentDataError(f"{path}: no such model file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SentimentDataError(f"{path}: not a sentiment model ({error})") from None
    if not isinstance(data, dict) or data.get("format") != MODEL_FORMAT:
        raise SentimentDataError(f"{path}: not a sentiment model (format is not {MODEL_FORMAT!r})")
    try:
        weights = {str(token): float(weight) for token, weight in data["token_weights"].items()}
        return _Model(float(data["bias"]), float(data["lexicon_weight"]), weights)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise SentimentDataError(f"{path}: malformed sentiment model ({error!r})") from None
