"""Text analytics in the warehouse: sentiment, keywords and confidential flags on posts, daily terms
per account kind, and the rising-terms view; on DuckDB and PostgreSQL."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from shengliang import settings
from tests.conftest import DATA_DATE
from tests.test_warehouse import run_day
from transforms.confidential import fold_term, read_confidential_terms
from warehouse.connect import open_warehouse

LEXICON = Path(__file__).resolve().parent.parent / "config" / "confidential_terms.txt"


def query(sql: str, **params) -> list[tuple]:
    with open_warehouse(settings.warehouse_url()) as engine, engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(sql), params).all()]


def _standalone_pattern(folded_term: str) -> re.Pattern[str]:
    """The term, not inside a longer run of ASCII letters or digits where it begins or ends with one."""
    before = {"letter": "(?<![a-z])", "digit": "(?<![0-9])"}
    after = {"letter": "(?![a-z])", "digit": "(?![0-9])"}

    def kind(char: str) -> str:
        return "letter" if "a" <= char <= "z" else "digit" if "0" <= char <= "9" else "other"

    start, end = kind(folded_term[0]), kind(folded_term[-1])
    return re.compile(before.get(start, "") + re.escape(folded_term) + after.get(end, ""))


def test_posts_carry_sentiment_keywords_and_confidential_flags(pipeline_env: Path, sandbox) -> None:
    run_day(sandbox, DATA_DATE)
    posts = query(
        "SELECT p.post_id, a.account_kind, p.clean_text, p.sentiment_score, p.sentiment_label,"
        " p.confidential_terms, p.is_flagged_confidential, p.original_post_id"
        " FROM fct_post p JOIN dim_account a ON a.account_key = p.account_key"
    )
    clean_texts = {row[0]: row[2] for row in posts}
    assert len(posts) > 100
    labels = {row[4] for row in posts}
    assert labels <= {"positive", "neutral", "negative"} and "positive" in labels
    assert all(-1.0 <= row[3] <= 1.0 for row in posts)

    terms = [fold_term(term) for term in read_confidential_terms(LEXICON)]
    patterns = {term: _standalone_pattern(term) for term in terms}
    flagged = set()
    for post_id, kind, clean_text, _score, _label, found, is_flagged, original_id in posts:
        if kind == "brand":
            assert found is None and is_flagged is False, post_id
            continue
        # An independent check: a regex search over the folded text and the reposted original.
        expected = {term for term, pattern in patterns.items() if pattern.search(fold_term(clean_text))}
        if original_id in clean_texts:
            original = fold_term(clean_texts[original_id])
            expected |= {term for term, pattern in patterns.items() if pattern.search(original)}
        got = {fold_term(term) for term in json.loads(found)}
        if original_id and original_id not in clean_texts:
            assert got >= expected, post_id  # the original is not in the warehouse to compare with
        else:
            assert got == expected, post_id
        assert is_flagged is bool(got)
        if got:
            flagged.add(post_id)
    assert flagged, "the sandbox's employees leak an unreleased name now and then"

    keywords = query("SELECT post_id, keyword, weight, keyword_rank FROM fct_post_keyword")
    by_post: dict[str, list[tuple]] = defaultdict(list)
    for post_id, keyword, weight, rank in keywords:
        by_post[post_id].append((rank, weight, keyword))
    assert len(by_post) > 100
    for ranked in by_post.values():
        ranked.sort()
        assert [rank for rank, _, _ in ranked] == list(range(1, len(ranked) + 1)) and len(ranked) <= 5
        assert [weight for _, weight, _ in ranked] == sorted((w for _, w, _ in ranked), reverse=True)
    words = {
        (post_id, term)
        for post_id, term in query("SELECT post_id, term FROM fct_post_term WHERE term_kind = 'word'")
    }
    assert all((post_id, keyword) in words for post_id, keyword, _, _ in keywords)


def test_term_daily_and_rising_terms_follow_the_posts(pipeline_env: Path, sandbox) -> None:
    first = DATA_DATE - timedelta(days=3)
    for offset in range(4):
        run_day(sandbox, first + timedelta(days=offset))
    run_day(sandbox, DATA_DATE)  # loading a day again rebuilds its rows, it does not add to them

    daily = query(
        "SELECT stat_date, platform, account_kind, term, term_kind, posts, occurrences FROM fct_term_daily"
    )
    expected = query(
        "SELECT p.publish_date, a.platform, a.account_kind, t.term, t.term_kind, count(*), sum(t.term_count)"
        " FROM fct_post_term t JOIN fct_post p ON p.post_id = t.post_id"
        " JOIN dim_account a ON a.account_key = p.account_key"
        " GROUP BY p.publish_date, a.platform, a.account_kind, t.term, t.term_kind"
    )
    assert sorted(daily) == sorted((*row[:5], int(row[5]), int(row[6])) for row in expected)
    assert {row[2] for row in daily} == {"brand", "employee"}

    occurrences = {(row[0], row[2], row[3], row[4]): row[6] for row in daily}
    rising = query(
        "SELECT account_kind, term, term_kind, occurrences, baseline_daily_occurrences, rise_ratio"
        " FROM v_rising_terms WHERE stat_date = :day AND platform = 'weibo' ORDER BY rise_ratio DESC",
        day=DATA_DATE,
    )
    assert rising and len(rising) == sum(1 for key in occurrences if key[0] == DATA_DATE)
    for kind, term, term_kind, today, baseline, ratio in rising:
        before = sum(
            occurrences.get((DATA_DATE - timedelta(days=back), kind, term, term_kind), 0)
            for back in range(1, 8)
        )
        assert float(baseline) == before / 7
        assert abs(float(ratio) - (today + 1) / (before / 7 + 1)) < 1e-9
    assert [float(row[5]) for row in rising] == sorted((float(row[5]) for row in rising), reverse=True)


def test_a_bad_confidential_lexicon_stops_the_plan_with_one_message(
    pipeline_env: Path, tmp_path: Path, monkeypatch
) -> None:
    from shengliang import jobs
    from shengliang.daily import analyzer_for
    from shengliang.settings import ConfigError

    lexicon = tmp_path / "confidential.txt"
    lexicon.write_text("极光X6\tcodename\textra\n", encoding="utf-8")
    monkeypatch.setenv("SHENGLIANG_CONFIDENTIAL_TERMS", str(lexicon))
    analyzer_for.cache_clear()
    from shengliang import daily

    daily._confidential_matcher.cache_clear()
    try:
        with pytest.raises(ConfigError, match=rf"{lexicon}:1: "):
            jobs.plan("weibo", DATA_DATE)
        monkeypatch.setenv("SHENGLIANG_CONFIDENTIAL_TERMS", str(tmp_path / "missing.txt"))
        with pytest.raises(ConfigError, match="missing.txt: no such file.*SHENGLIANG_CONFIDENTIAL_TERMS"):
            jobs.plan("wechat", DATA_DATE)
    finally:
        analyzer_for.cache_clear()
        daily._confidential_matcher.cache_clear()


def test_upgrading_to_0002_fills_daily_terms_from_what_is_loaded(pipeline_env: Path, sandbox) -> None:
    from alembic import command
    from sqlalchemy import create_engine

    from warehouse.migrate import _config, head_revision, upgrade

    run_day(sandbox, DATA_DATE)
    daily_sql = (
        "SELECT stat_date, platform, account_kind, term, term_kind, posts, occurrences FROM fct_term_daily"
    )
    loaded = sorted(query(daily_sql))
    assert loaded
    engine = create_engine(settings.warehouse_url())
    try:
        config = _config()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0001")
        assert upgrade(engine) == ("0001", head_revision())
    finally:
        engine.dispose()
    assert sorted(query(daily_sql)) == loaded
