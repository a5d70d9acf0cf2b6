"""Word segmentation: backend agreement, F1 against the NLPCC 2016 Weibo gold, and speed.

    .venv/bin/python bench/wordseg.py agreement   # jieba-c and rjieba against jieba, brand dictionary applied
    .venv/bin/python bench/wordseg.py f1          # P/R/F1 on nlpcc2016-wordseg-dev.dat
    .venv/bin/python bench/wordseg.py speed       # MB/s and posts/s on one core
    .venv/bin/python bench/wordseg.py             # a quick run of all three (--limit 2000 posts)

Data comes from ../shared/data (evaluation only, never copied into the repo); without it each command
prints why it skips. Token agreement and F1 are both token-level F1 over character spans: a token counts
as matched when the other side has a token with the same start and end (whitespace tokens ignored).
The NLPCC file is only read for scoring: nothing is fitted on it or taken from it.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jieba  # noqa: E402

from transforms.segment import BACKENDS, Segmenter, main_dictionary_path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data"
BRAND_DICTIONARY = ROOT / "config" / "dictionaries" / "shanhai.dict"

Spans = set[tuple[int, int]]


def weibo_texts(data: Path, limit: int | None = None) -> list[str]:
    """The post texts of weibo_senti_dev/dev.tsv (`label<TAB>text`, one header line)."""
    lines = (data / "weibo_senti_dev" / "dev.tsv").read_text(encoding="utf-8").splitlines()[1:]
    texts = [line.split("\t", 1)[1] for line in lines if "\t" in line]
    return texts[:limit] if limit else texts


def nlpcc_gold(data: Path, limit: int | None = None) -> list[list[str]]:
    """Gold tokens per sentence of every nlpcc2016_wordseg_dev/*.dat file (tokens separated by spaces)."""
    sentences = []
    for path in sorted((data / "nlpcc2016_wordseg_dev").glob("*.dat")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.split():
                sentences.append(line.split())
    return sentences[:limit] if limit else sentences


def spans(text: str, tokens: Iterable[str]) -> Spans:
    """Character spans of in-order tokens of `text`; whitespace-only tokens are skipped."""
    result: Spans = set()
    position = 0
    for token in tokens:
        if not token.strip():
            position += len(token) if text.startswith(token, position) else 0
            continue
        start = text.find(token, position)
        if start < 0:
            raise ValueError(f"token {token!r} not found in order in {text!r}")
        position = start + len(token)
        result.add((start, position))
    return result


def precision_recall_f1(pairs: Iterable[tuple[Spans, Spans]]) -> tuple[float, float, float]:
    """Micro-averaged P/R/F1 of predicted spans against gold spans, over (gold, predicted) pairs."""
    matched = gold_count = predicted_count = 0
    for gold, predicted in pairs:
        matched += len(gold & predicted)
        gold_count += len(gold)
        predicted_count += len(predicted)
    precision = matched / predicted_count if predicted_count else 0.0
    recall = matched / gold_count if gold_count else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def jieba_reference() -> Callable[[str], list[str]]:
    """Plain jieba 0.42.1 on its own dictionary: precise mode, HMM on."""
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer(str(main_dictionary_path()))
    tokenizer.initialize()
    return lambda text: tokenizer.lcut(text, False, True)


def agreement(data: Path, limit: int | None) -> None:
    texts = weibo_texts(data, limit) + ["".join(tokens) for tokens in nlpcc_gold(data, limit)]
    size = sum(len(text.encode("utf-8")) for text in texts)
    print(
        f"agreement with jieba: {len(texts)} texts ({size / 1e6:.2f} MB), brand dictionary "
        f"{BRAND_DICTIONARY.name}; token-level F1 over spans, jieba as reference"
    )
    by_backend = {name: Segmenter([BRAND_DICTIONARY], backend=name) for name in BACKENDS}
    for label, method in (("backend cut (whole text)", "backend_cut"), ("Segmenter.tokenize", "tokenize")):
        reference = [spans(text, getattr(by_backend["jieba"], method)(text)) for text in texts]
        tokens = sum(len(spans_) for spans_ in reference)
        for name in BACKENDS:
            if name == "jieba":
                continue
            fast = [spans(text, getattr(by_backend[name], method)(text)) for text in texts]
            _precision, _recall, f1 = precision_recall_f1(zip(reference, fast, strict=True))
            same = sum(left == right for left, right in zip(reference, fast, strict=True))
            print(
                f"  {name:8s} {label:26s} token agreement {f1:.4%}  identical texts "
                f"{same / len(texts):.2%}  ({tokens} jieba tokens)"
            )


def f1(data: Path, limit: int | None) -> None:
    gold = nlpcc_gold(data, limit)
    texts = ["".join(tokens) for tokens in gold]
    gold_spans = [spans(text, tokens) for text, tokens in zip(texts, gold, strict=True)]
    print(
        f"word segmentation against NLPCC 2016 Weibo dev gold: {len(texts)} sentences, "
        f"{sum(len(tokens) for tokens in gold)} gold tokens"
    )
    runs: list[tuple[str, Callable[[str], list[str]]]] = [("jieba alone (precise, HMM)", jieba_reference())]
    default = Segmenter().backend
    for name in BACKENDS:
        label = f"Segmenter.tokenize ({name}{', the default' if name == default else ''})"
        runs.append((label, Segmenter(backend=name).tokenize))
    for label, cut in runs:
        predicted = [spans(text, cut(text)) for text in texts]
        precision, recall, score = precision_recall_f1(zip(gold_spans, predicted, strict=True))
        print(f"  {label:46s} P {precision:.4f}  R {recall:.4f}  F1 {score:.4f}")


def speed(data: Path, limit: int | None, repeats: int) -> None:
    texts = weibo_texts(data, limit)
    size = sum(len(text.encode("utf-8")) for text in texts)
    print(f"speed on one core: {len(texts)} posts of dev.tsv, {size / 1e6:.2f} MB UTF-8, best of {repeats}")
    rjieba_only = Segmenter(backend="rjieba")
    c_only = Segmenter(backend="jieba-c")
    product = Segmenter()
    for segmenter in (rjieba_only, c_only, product):
        segmenter.tokenize("预热")  # build the backends outside the timing
    runs: Sequence[tuple[str, Callable[[str], list[str]], int]] = (
        ("jieba alone", jieba_reference(), 1),
        ("rjieba alone", rjieba_only.backend_cut, repeats),
        ("jieba-c alone", c_only.backend_cut, repeats),
        (f"Segmenter.tokenize ({product.backend})", product.tokenize, repeats),
    )
    for label, cut, count in runs:
        best = min(_timed(cut, texts) for _ in range(count))
        print(f"  {label:30s} {size / best / 1e6:7.2f} MB/s  {len(texts) / best:9.0f} posts/s")


def _timed(cut: Callable[[str], list[str]], texts: Sequence[str]) -> float:
    start = time.perf_counter()
    for text in texts:
        cut(text)
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", nargs="?", choices=("agreement", "f1", "speed"))
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--limit", type=int, default=None, help="only the first N texts of each file")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per speed measurement")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"skipped: no shared data at {args.data} (evaluation data is not part of the repository)")
        return 0
    quick = args.command is None
    limit = args.limit or (2000 if quick else None)
    if args.command in ("agreement", None):
        agreement(args.data, limit)
    if args.command in ("f1", None):
        f1(args.data, args.limit)
    if args.command in ("speed", None):
        speed(args.data, limit, 3 if quick else args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
