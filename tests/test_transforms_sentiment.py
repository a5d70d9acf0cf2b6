"""Sentiment: polarity, negation, degree words, emoticons, the repost chain, train/eval and the CLI."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from shengliang.cli import _main
from transforms.sentiment import (
    MODEL_ENV,
    SentimentDataError,
    SentimentScorer,
    configured_scorer,
    evaluate,
    fallback_tokenize,
    read_labelled_tsv,
    train_model,
    write_model,
)


@pytest.fixture(scope="module")
def scorer() -> SentimentScorer:
    return SentimentScorer.default()


def score(scorer: SentimentScorer, text: str) -> float:
    return scorer.score_text(text, fallback_tokenize).score


def test_c_pass_equals_the_python_reference(scorer: SentimentScorer) -> None:
    # _fastseg.sentiment_pass runs the rules; _pass_entries_reference states them in Python. Random
    # token lists from every lexicon, the glued pieces, clause boundaries and unknown words.
    lexicons = scorer._lexicons
    pool = (
        sorted(lexicons.words)[:400]
        + sorted(lexicons.emoticons)[:50]
        + sorted(lexicons.negations)
        + sorted(lexicons.degrees)
        + sorted(lexicons.contrasts)
        + sorted(scorer._join_starts)
        + sorted(scorer._join_prefixes)
        + list("，。！？,.!~ 我你是的了啊么哒")
        + ["很开心啊", "不开心", "累死", "哈哈哈哈", "23333", "棒棒", "好好好", "新词未知", "😂"]
    )
    rng = random.Random(20261123)
    for _ in range(20_000):
        tokens = [rng.choice(pool) for _ in range(rng.randint(0, 14))]
        entries = [scorer.token_sentiment(token) for token in tokens]
        reference = scorer._pass_entries_reference(tokens, entries)
        assert scorer._pass_entries(tokens, entries) == reference, tokens


@pytest.mark.parametrize("text", ["今天好开心", "这家店太好吃了", "谢谢大家，生日快乐", "给力！点赞", "加油"])
def test_positive_posts(scorer: SentimentScorer, text: str) -> None:
    result = scorer.score_text(text, fallback_tokenize)
    assert result.label == "positive" and result.score > 0


@pytest.mark.parametrize("text", ["好累啊，又加班", "气死我了", "心塞，无语", "感冒好难受", "太坑了"])
def test_negative_posts(scorer: SentimentScorer, text: str) -> None:
    result = scorer.score_text(text, fallback_tokenize)
    assert result.label == "negative" and result.score < 0


def test_no_signal_is_neutral_zero(scorer: SentimentScorer) -> None:
    result = scorer.score_text("我在北京开会", fallback_tokenize)
    assert result.score == 0 and result.label == "neutral"
    assert scorer.score_tokens([]).label == "neutral"


def test_negation_flips_polarity(scorer: SentimentScorer) -> None:
    assert score(scorer, "喜欢") > 0 > score(scorer, "不喜欢")
    assert score(scorer, "好吃") > 0 > score(scorer, "一点都不好吃")
    assert score(scorer, "难过") < 0 < score(scorer, "不难过")
    assert score(scorer, "不是不喜欢") > 0  # two negations cancel


def test_negation_stops_at_punctuation(scorer: SentimentScorer) -> None:
    assert scorer.score_tokens(["不", "，", "喜欢"]).score > 0
    assert scorer.score_tokens(["不", "喜欢"]).score < 0


def test_degree_words_scale(scorer: SentimentScorer) -> None:
    plain = scorer.score_tokens(["喜欢"]).score
    assert scorer.score_tokens(["非常", "喜欢"]).score > plain
    assert plain > scorer.score_tokens(["有点", "喜欢"]).score > 0
    assert scorer.score_tokens(["特别", "难过"]).score < scorer.score_tokens(["难过"]).score < 0


def test_glued_forms_from_the_segmenter(scorer: SentimentScorer) -> None:
    assert scorer.score_tokens(["很无语"]).score < 0  # degree + word in one token
    # an intensifying suffix
    assert scorer.score_tokens(["心塞死", "了"]).score < scorer.score_tokens(["心塞"]).score
    assert scorer.score_tokens(["哈哈哈哈哈哈"]).score > 0  # repeats
    assert scorer.score_tokens(["么", "么", "哒"]).score > 0  # pieces of one lexicon word


@pytest.mark.parametrize(
    "tokens",
    [
        [],
        ["不", "是", "不", "喜欢"],
        ["非常", "非常", "难过", "，", "但是", "好", "开心"],
        ["么", "么", "哒", "我", "是", "好", "好吃"],
        ["很无语", "累死", "哈哈哈哈", "23333", "新词未知", "[哈哈]", "不", "[泪]"],
    ],
)
def test_scoring_given_token_entries_is_scoring_tokens(scorer: SentimentScorer, tokens: list[str]) -> None:
    # Callers that memoize token_sentiment (transforms.post_text) pass entries starting with it.
    entries = [(*scorer.token_sentiment(token), "caller's own data") for token in tokens]
    assert scorer.score_entries_with_signal(tokens, entries) == scorer.score_with_signal(tokens)


def test_emoticons(scorer: SentimentScorer) -> None:
    assert scorer.score_text("[哈哈]", fallback_tokenize).label == "positive"
    assert scorer.score_text("[泪][泪]", fallback_tokenize).label == "negative"
    assert scorer.score_text("今天[怒]", fallback_tokenize).score < 0
    assert scorer.score_text("[Good]", fallback_tokenize).score > 0  # names match case-insensitively
    assert scorer.score_tokens(["😭"]).score < 0 < scorer.score_tokens(["👍"]).score
    # An emoticon is read as it is: a preceding negation does not flip it.
    assert scorer.score_tokens(["不", "[哈哈]"]).score > 0


def test_authors_words_win_over_the_repost_chain(scorer: SentimentScorer) -> None:
    assert score(scorer, "太棒了[赞]//@路人甲:垃圾[怒]//@路人乙:气死了") > 0
    assert score(scorer, "真恶心//@路人甲:好开心[哈哈]") < 0


def test_chain_read_when_own_words_carry_no_signal(scorer: SentimentScorer) -> None:
    assert score(scorer, "转发微博//@路人甲:气死我了[怒]") < 0
    assert score(scorer, "//@路人甲:生日快乐[蛋糕]") > 0


@pytest.mark.parametrize(
    "text",
    ["", "[哈哈]" * 50, "[泪]" * 50, "非常非常非常不喜欢" * 20, "太太太好吃了！！！" * 30, "//@a://@b:"],
)
def test_score_range_and_label(scorer: SentimentScorer, text: str) -> None:
    result = scorer.score_text(text, fallback_tokenize)
    assert -1.0 <= result.score <= 1.0
    assert result.label in {"positive", "neutral", "negative"}


def test_default_is_cached() -> None:
    assert SentimentScorer.default() is SentimentScorer.default()


def test_score_text_uses_the_project_tokenizer_by_default(scorer: SentimentScorer) -> None:
    assert scorer.score_text("今天好开心[哈哈]").label == "positive"


# --- labelled files, training, evaluation ----------------------------------------------------

TINY = [
    (1, "今天好开心[哈哈]"),
    (1, "新买的耳机音质真好"),
    (1, "耳机很好，喜欢"),
    (1, "客服很耐心，耳机好用"),
    (0, "耳机坏了，气死我了"),
    (0, "耳机音质差，后悔"),
    (0, "这个耳机太坑了"),
    (0, "耳机又坏了，无语"),
]


def write_tsv(path: Path, rows: list[tuple[int, str]], header: bool = False) -> Path:
    lines = (["label\ttext"] if header else []) + [f"{label}\t{text}" for label, text in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_read_labelled_tsv_skips_a_header(tmp_path: Path) -> None:
    posts = read_labelled_tsv(write_tsv(tmp_path / "posts.tsv", TINY, header=True))
    assert [(post.label, post.text) for post in posts] == TINY
    assert posts[0].line == 2


def test_read_labelled_tsv_skips_opening_comments_then_a_header(tmp_path: Path) -> None:
    path = tmp_path / "posts.tsv"
    path.write_text("# written for the project\n\n# by us\nlabel\ttext\n1\t好开心\n0\t#话题# 好烦\n", "utf-8")
    posts = read_labelled_tsv(path)
    assert [(post.label, post.text, post.line) for post in posts] == [(1, "好开心", 5), (0, "#话题# 好烦", 6)]
    # Further down, a line starting with "#" is a post that lost its label, not a comment.
    path.write_text("# comment\n1\t好开心\n#考研# 今天又想放弃\n", encoding="utf-8")
    with pytest.raises(SentimentDataError, match=r"posts\.tsv:3: expected 'label<TAB>text'.*only at the top"):
        read_labelled_tsv(path)


def test_project_written_posts_are_balanced_and_words_only() -> None:
    """bench/sentiment_posts.tsv: the words-only evaluation that needs no shared data."""
    path = Path(__file__).resolve().parent.parent / "bench" / "sentiment_posts.tsv"
    posts = read_labelled_tsv(path)
    # The header states the counts: "# 6,265 posts, 3,138 labelled 1 (positive) and 3,127 labelled 0".
    header = r"# ([\d,]+) posts, ([\d,]+) labelled 1 .* and ([\d,]+) labelled 0"
    stated = re.search(header, path.read_text(encoding="utf-8"))
    assert stated is not None
    total, positives, negatives = (int(figure.replace(",", "")) for figure in stated.groups())
    assert (len(posts), sum(post.label for post in posts)) == (total, positives)
    assert positives + negatives == total and abs(positives - negatives) <= total // 100
    assert len({post.text for post in posts}) == len(posts)
    emoticon_or_emoji = re.compile(r"\[[^\[\]\s]{1,10}\]|[\U0001F000-\U0001FAFF\u2600-\u27BF]")
    assert [post.line for post in posts if emoticon_or_emoji.search(post.text)] == []


@pytest.mark.parametrize("bad_line", ["2\t好", "positive\t好", "没有制表符"])
def test_malformed_tsv_names_file_and_line(tmp_path: Path, bad_line: str) -> None:
    path = tmp_path / "bad.tsv"
    path.write_text(f"1\t好开心\n{bad_line}\n", encoding="utf-8")
    with pytest.raises(SentimentDataError, match=r"bad\.tsv:2: expected 'label<TAB>text'"):
        read_labelled_tsv(path)


def test_train_and_eval_round_trip(tmp_path: Path) -> None:
    posts = read_labelled_tsv(write_tsv(tmp_path / "train.tsv", TINY))
    model = train_model(posts, fallback_tokenize, min_count=1)
    write_model(model, tmp_path / "model.json")
    trained = SentimentScorer.from_model(tmp_path / "model.json")
    assert trained.has_model
    assert evaluate(trained, posts, fallback_tokenize).accuracy == 1.0
    # The learned token weights carry the domain: "坏" (broken) reads negative for this model.
    assert trained.score_text("耳机坏", fallback_tokenize).score < 0
    assert -1 <= trained.score_text("耳机", fallback_tokenize).score <= 1


def test_model_file_errors(tmp_path: Path) -> None:
    (tmp_path / "not.json").write_text(json.dumps({"format": "other"}), encoding="utf-8")
    with pytest.raises(SentimentDataError, match="not a sentiment model"):
        SentimentScorer.from_model(tmp_path / "not.json")
    with pytest.raises(SentimentDataError, match="no such model file"):
        SentimentScorer.from_model(tmp_path / "missing.json")


def test_configuration_switch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MODEL_ENV, raising=False)
    assert configured_scorer() is SentimentScorer.default()
    posts = read_labelled_tsv(write_tsv(tmp_path / "t.tsv", TINY))
    model = train_model(posts, fallback_tokenize, min_count=1)
    write_model(model, tmp_path / "model.json")
    monkeypatch.setenv(MODEL_ENV, str(tmp_path / "model.json"))
    assert configured_scorer().has_model
    monkeypatch.setenv(MODEL_ENV, str(tmp_path / "missing.json"))
    with pytest.raises(SentimentDataError, match=MODEL_ENV):
        configured_scorer()


# --- CLI ----------------------------------------------------------------------------------------


def test_cli_train_then_eval(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_tsv(tmp_path / "posts.tsv", TINY, header=True)
    model = tmp_path / "model.json"
    assert _main(["sentiment", "train", str(data), "--model", str(model)]) == 0
    assert json.loads(model.read_text(encoding="utf-8"))["format"] == "shengliang-sentiment-model"
    assert _main(["sentiment", "eval", str(data), "--model", str(model)]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "n=8" in out and "positive 4/4 right" in out
    assert _main(["sentiment", "eval", str(data)]) == 0
    assert "shipped lexicons" in capsys.readouterr().out


def test_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("1\t好\n0 没有制表符\n", encoding="utf-8")
    assert _main(["sentiment", "eval", str(bad)]) == 2
    assert "bad.tsv:2" in capsys.readouterr().err
    data = write_tsv(tmp_path / "posts.tsv", TINY)
    assert _main(["sentiment", "train", str(data)]) == 2
    assert "--model" in capsys.readouterr().err
    assert _main(["sentiment", "eval", str(tmp_path / "missing.tsv")]) == 2
    assert "no such file" in capsys.readouterr().err
