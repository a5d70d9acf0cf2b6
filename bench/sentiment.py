"""Sentiment benchmark: the shipped scorer against the weibo_senti dev labels, with and without emoticons.

    .venv/bin/python bench/sentiment.py [--data ../shared/data/weibo_senti_dev/dev.tsv] [--model OUT.json]

Prints accuracy twice (the posts as they are; every [emoticon] and emoji character removed from the
text, so only the words are read), the binary rule used for the neutral band, and the speed: posts/s
of score_text (clean + segment + score) and µs per post of score_tokens alone on pre-segmented posts.
dev.tsv is an evaluation set with no license: nothing is fitted on it. Where the shared data folder is
absent, says so and prints only the accuracy on the project-written posts (bench/sentiment_posts.tsv,
words only, no emoticons), which it prints first in every run.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import unicodedata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from transforms.sentiment import (  # noqa: E402
    BINARY_RULE,
    LabelledPost,
    SentimentScorer,
    default_tokenizer,
    evaluate,
    read_labelled_tsv,
)

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
DEFAULT_DATA = SHARED_DATA / "weibo_senti_dev" / "dev.tsv"
PROJECT_POSTS = Path(__file__).resolve().parent / "sentiment_posts.tsv"

_EMOTICON_RE = re.compile(r"\[[^\[\]\s]{1,10}\]")
# Emoji: pictographs and symbols (Unicode "So"), plus the joiners and variation selectors around them.
_EMOJI_EXTRAS = frozenset("\u200d\ufe0f\ufe0e\u20e3")


def without_emoticons(text: str) -> str:
    """The text with every [emoticon] and emoji character removed."""
    text = _EMOTICON_RE.sub("", text)
    return "".join(
        char
        for char in text
        if char not in _EMOJI_EXTRAS
        and unicodedata.category(char) != "So"
        and not 0x1F3FB <= ord(char) <= 0x1F3FF  # skin-tone modifiers
    )


def main(argv: list[str] | None = None) -> int:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--model", type=Path, help="a model from `shengliang sentiment train`")
    args = parser.parse_args(argv)

    scorer = SentimentScorer.from_model(args.model) if args.model else SentimentScorer.default()
    tokenize = default_tokenizer()
    print(f"scorer: {'model ' + str(args.model) if args.model else 'shipped lexicons (no model)'}")
    print(f"tokenizer: {getattr(tokenize, '__qualname__', tokenize)}")
    print(f"binary rule: {BINARY_RULE}")
    project_posts = read_labelled_tsv(PROJECT_POSTS)
    source = json.loads(args.model.read_text(encoding="utf-8")).get("source") if args.model else None
    note = "; the model was trained on this file: training accuracy" if source == PROJECT_POSTS.name else ""
    print(f"project-written posts, words only ({PROJECT_POSTS.name}, {len(project_posts)} posts{note}):")
    print(f"  {evaluate(scorer, project_posts, tokenize).describe()}")
    if not args.data.is_file():
        print(f"weibo_senti dev skipped: {args.data} is absent (the shared evaluation data is not here)")
        return 0

    posts = read_labelled_tsv(args.data)
    stripped = [LabelledPost(post.label, without_emoticons(post.text), post.line) for post in posts]
    print(f"data: {args.data} ({len(posts)} posts)")

    started = time.perf_counter()
    as_they_are = evaluate(scorer, posts, tokenize)
    elapsed = time.perf_counter() - started
    print(f"as they are:        {as_they_are.describe()}")
    print(f"emoticons removed:  {evaluate(scorer, stripped, tokenize).describe()}")

    token_lists = [scorer.select_tokens(post.text, tokenize) for post in posts]
    token_count = sum(map(len, token_lists))
    rounds = 5
    started = time.perf_counter()
    for _ in range(rounds):
        for tokens in token_lists:
            scorer.score_tokens(tokens)
    scoring = (time.perf_counter() - started) / (rounds * len(token_lists))
    print(
        f"speed: score_text (clean + segment + score) {len(posts) / elapsed:,.0f} posts/s; "
        f"score_tokens alone {scoring * 1e6:.2f} µs/post ({token_count / len(token_lists):.1f} tokens/post, "
        f"{1 / scoring:,.0f} posts/s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
