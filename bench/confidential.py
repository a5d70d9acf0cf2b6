"""Confidential-term matching benchmark: build time and µs per post with a 10,000-term lexicon.

    .venv/bin/python bench/confidential.py [--terms 10000] [--posts 20000] [--compare]

Text is generated (no shared data needed): 140-character posts of words drawn from jieba's IDF table
with a Zipf law, a few Latin words and numbers mixed in; terms are two joined rarer dictionary words
or Latin code names ("Project K4711"), and one post in ten contains a term. Each timed pass runs over
fresh string objects, so the UTF-8 encoding the automaton needs is paid as it is in the pipeline.
--compare also times pyahocorasick on the same data (the reason transforms/confidential.py uses
ahocorasick-rs), and the TF-IDF keywords of transforms/keywords.py on 30-token posts.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from transforms.confidential import ConfidentialMatcher, fold_term  # noqa: E402
from transforms.keywords import KeywordExtractor, default_idf_path  # noqa: E402

REPEATS = 5


class Vocabulary:
    """The Chinese words of jieba's IDF table, drawn with a Zipf law (frequent words, low IDF, first)."""

    def __init__(self, rng: random.Random) -> None:
        with default_idf_path().open(encoding="utf-8") as lines:
            rows = [line.split(" ") for line in lines]
        rows = [(word, float(idf)) for word, idf in rows if "\u4e00" <= word[0] <= "\u9fff"]
        rows.sort(key=lambda row: row[1])
        self.words = [word for word, _ in rows]
        self.cum_weights = list(itertools.accumulate(1.0 / (rank + 10) for rank in range(len(self.words))))
        self.rng = rng

    def sample(self, count: int) -> list[str]:
        return self.rng.choices(self.words, cum_weights=self.cum_weights, k=count)

    def rare(self) -> str:
        """A word outside the 20,000 most frequent ones."""
        return self.words[self.rng.randrange(20_000, len(self.words))]


def generate_terms(vocabulary: Vocabulary, count: int, rng: random.Random) -> list[str]:
    """Two joined rarer words (90%) or a Latin code name like "Project K4711" (10%)."""
    terms: set[str] = set()
    while len(terms) < count:
        if rng.random() < 0.1:
            terms.add(f"Project {rng.choice('ABCDEFGHKLMNPRSTVXZ')}{rng.randrange(10, 10_000)}")
        else:
            terms.add(vocabulary.rare() + vocabulary.rare())
    return sorted(terms)


def generate_posts(vocabulary: Vocabulary, terms: list[str], count: int, rng: random.Random) -> list[str]:
    latin = ["iPhone 15", "Mate60", "yyds", "OS", "App", "2024年", "3.5折"]
    posts = []
    for number in range(count):
        pieces = vocabulary.sample(70)
        for _ in range(3):
            pieces.insert(rng.randrange(len(pieces)), rng.choice(latin))
        if number % 10 == 0:
            pieces.insert(rng.randrange(20), rng.choice(terms))
        posts.append("".join(pieces)[:140])
    return posts


def fresh(posts: list[str]) -> list[str]:
    """New string objects with the same text (no cached UTF-8 form)."""
    return [post.encode().decode() for post in posts]


def time_per_post(find, posts: list[str]) -> float:
    """Best of REPEATS passes, in µs per post."""
    best = float("inf")
    for _ in range(REPEATS):
        batch = fresh(posts)
        started = time.perf_counter()
        for post in batch:
            find(post)
        best = min(best, time.perf_counter() - started)
    return best / len(posts) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--terms", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--compare", action="store_true", help="also time pyahocorasick and keywords")
    args = parser.parse_args()

    rng = random.Random(5)
    vocabulary = Vocabulary(rng)
    terms = generate_terms(vocabulary, args.terms, rng)
    posts = generate_posts(vocabulary, terms, args.posts, rng)
    mean_chars = sum(map(len, posts)) / len(posts)
    print(f"{len(terms):,} terms, {len(posts):,} posts of {mean_chars:.0f} characters on average")

    started = time.perf_counter()
    matcher = ConfidentialMatcher(terms)
    print(f"ahocorasick-rs   build {(time.perf_counter() - started) * 1e3:7.1f} ms", end="   ")
    flagged = sum(1 for post in posts if matcher.find(post))
    print(f"find {time_per_post(matcher.find, posts):6.2f} µs/post   ({flagged:,} posts flagged)")

    empty = ConfidentialMatcher([])
    print(f"empty lexicon                       find {time_per_post(empty.find, posts):6.2f} µs/post")

    if args.compare:
        import ahocorasick  # pyahocorasick, only for this comparison

        started = time.perf_counter()
        automaton = ahocorasick.Automaton()
        for index, term in enumerate(terms):
            automaton.add_word(fold_term(term), index)
        automaton.make_automaton()
        print(f"pyahocorasick    build {(time.perf_counter() - started) * 1e3:7.1f} ms", end="   ")

        def find_pyahocorasick(text: str) -> list[int]:
            return [index for _end, index in automaton.iter(text.lower())]

        print(f"find {time_per_post(find_pyahocorasick, posts):6.2f} µs/post")

        extractor = KeywordExtractor()
        token_lists = [vocabulary.sample(30) for _ in range(2_000)]
        for tokens in token_lists:  # warm the extractor's per-token memo, as a long run does
            extractor.keywords(tokens)
        best = float("inf")
        for _ in range(REPEATS):
            # Fresh token strings, as the segmenter hands them over (their hashes not yet computed).
            batch = [fresh(tokens) for tokens in token_lists]
            started = time.perf_counter()
            for tokens in batch:
                extractor.keywords(tokens)
            best = min(best, time.perf_counter() - started)
        print(f"keywords (TF-IDF, 30 tokens, top 5)  {best / len(token_lists) * 1e6:6.2f} µs/post")


if __name__ == "__main__":
    main()
