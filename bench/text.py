"""Text benchmark: jieba alone, the product's segmenter, and the whole per-post text transform.

    .venv/bin/python bench/text.py [--data ../shared/data] [--repeat 5]

Texts: the posts of weibo_senti_dev/dev.tsv and the sentences of nlpcc2016_wordseg_dev in the shared
data folder; where it is absent, generated Weibo-like posts (printed as such). One process, one
thread. For each stage it prints MB/s (UTF-8 bytes of input) and posts/s, best of --repeat passes:
- jieba alone: jieba.lcut (precise mode, HMM on);
- segmenter: transforms.segment.Segmenter.tokenize with the shanhai brand dictionary;
- whole transform: transforms.post_text.PostTextAnalyzer.analyze (clean, segment, sentiment, terms,
  keywords, confidential flags), every post checked as an employee's.
Then the process's peak memory (max RSS). Targets (issue 5): segmenter >= 10 MB/s, whole transform
>= 20,000 posts/s, peak memory under 1 GB.
"""

from __future__ import annotations

import argparse
import logging
import random
import resource
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jieba  # noqa: E402

from transforms.post_text import PostTextAnalyzer  # noqa: E402
from transforms.segment import Segmenter  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data"
BRAND_DICTIONARY = ROOT / "config" / "dictionaries" / "shanhai.dict"


def shared_texts(data: Path) -> list[str] | None:
    senti = data / "weibo_senti_dev" / "dev.tsv"
    wordseg = sorted((data / "nlpcc2016_wordseg_dev").glob("*.dat"))
    if not senti.exists() or not wordseg:
        return None
    texts = [
        line.split("\t", 1)[1] for line in senti.read_text(encoding="utf-8").splitlines()[1:] if "\t" in line
    ]
    for path in wordseg:
        texts += [
            "".join(line.split()) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
        ]
    return texts


def generated_texts(count: int = 14_000) -> list[str]:
    """Weibo-like posts from jieba's dictionary words, emoticons, topics, mentions and links."""
    rng = random.Random(20261123)
    words = [
        line.split()[0]
        for line in (Path(jieba.__file__).parent / "dict.txt").read_text(encoding="utf-8").splitlines()[::40]
    ]
    extras = [
        "[哈哈]",
        "[泪]",
        "[赞]",
        "#山海茶饮新品#",
        "@小山同学",
        "http://t.cn/A6abcd",
        "，",
        "！",
        "iPhone 15",
    ]
    return [
        "".join(
            rng.choice(extras) if rng.random() < 0.15 else rng.choice(words)
            for _ in range(rng.randint(8, 40))
        )
        for _ in range(count)
    ]


def best_seconds(function: Callable[[str], object], texts: Sequence[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for text in texts:
            function(text)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    texts = shared_texts(args.data)
    if texts is None:
        print(f"{args.data} is absent: timing generated Weibo-like posts instead of the shared data")
        texts = generated_texts()
    megabytes = sum(len(text.encode("utf-8")) for text in texts) / 1e6
    print(f"{len(texts):,} posts, {megabytes:.2f} MB of UTF-8 text, best of {args.repeat}")

    jieba.setLogLevel(logging.WARNING)
    jieba.lcut("预热")
    segmenter = Segmenter(user_dictionaries=[BRAND_DICTIONARY])
    analyzer = PostTextAnalyzer(segmenter)
    segmenter.tokenize("预热")

    def whole(text: str) -> object:
        return analyzer.analyze(text, check_confidential=True)

    for text in texts:  # warm the caches (sentiment's token table, keyword IDF memo) once
        whole(text)
    stages = [
        ("jieba alone (jieba.lcut)", jieba.lcut, 1),
        ("segmenter (Segmenter.tokenize)", segmenter.tokenize, args.repeat),
        ("whole transform (PostTextAnalyzer.analyze)", whole, args.repeat),
    ]
    print(f"\n{'stage':<44} {'MB/s':>7} {'posts/s':>9}")
    for name, function, repeat in stages:
        seconds = best_seconds(function, texts, repeat)
        print(f"{name:<44} {megabytes / seconds:>7.2f} {len(texts) / seconds:>9,.0f}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory (max RSS): {peak_mb:,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
