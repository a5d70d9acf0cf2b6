"""ConfidentialMatcher: hits, misses, overlapping and nested terms, case folding, lexicon file errors."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from transforms.confidential import (
    CONFIDENTIAL_TERMS_ENV,
    DEFAULT_CONFIDENTIAL_TERMS_PATH,
    ConfidentialMatcher,
    LexiconError,
    confidential_terms_path,
    read_confidential_terms,
)


def test_hits_in_order_of_first_occurrence() -> None:
    matcher = ConfidentialMatcher(["未公布营收", "极光X6", "云栖计划"])
    text = "云栖计划进展顺利,极光X6下月见,未公布营收别乱说。云栖计划加油"
    assert matcher.find(text) == ["云栖计划", "极光X6", "未公布营收"]


def test_miss_and_empty_text() -> None:
    matcher = ConfidentialMatcher(["极光X6", "云栖计划"])
    assert matcher.find("极光X5今天发布,桂花拿铁买一送一") == []
    assert matcher.find("") == []


def test_overlapping_and_nested_terms_are_all_reported() -> None:
    matcher = ConfidentialMatcher(["环OS", "星环OS", "星环"])
    assert matcher.find("星环OS发布") == ["星环", "星环OS", "环OS"]
    # Overlapping without nesting: "天枢芯" and "芯片组" share "芯".
    matcher = ConfidentialMatcher(["芯片组", "天枢芯"])
    assert matcher.find("天枢芯片组流片了") == ["天枢芯", "芯片组"]


def test_latin_and_digit_edges_do_not_match_inside_longer_runs() -> None:
    matcher = ConfidentialMatcher(["极光X6", "Atlas", "Q4财报", "星环OS 5", "云栖计划"])
    assert matcher.find("极光X60今天发布,Atlassian也来了,星环OS 50上线") == []
    # A letter beside a digit, or any non-Latin character, is an edge; Chinese terms have no edges.
    assert matcher.find("极光X6Pro和2023Q4财报,星环OS 5G,atlas、大云栖计划书") == [
        "极光X6",
        "Q4财报",
        "星环OS 5",
        "Atlas",
        "云栖计划",
    ]
    # One occurrence inside a longer run does not hide another that stands alone.
    assert matcher.find("极光X60不是极光X6") == ["极光X6"]


def test_a_term_is_reported_once_however_often_it_occurs() -> None:
    matcher = ConfidentialMatcher(["Q4财报"])
    assert matcher.find("Q4财报,Q4财报,还是Q4财报") == ["Q4财报"]


def test_latin_letters_match_case_insensitively_and_report_the_lexicon_spelling() -> None:
    matcher = ConfidentialMatcher(["Project Polaris", "q4财报", "极光Fold"])
    assert matcher.find("听说PROJECT POLARIS和极光fold都要在Q4财报前亮相") == [
        "Project Polaris",
        "极光Fold",
        "q4财报",
    ]


def test_full_width_terms_match_cleaned_half_width_text() -> None:
    # The cleaner turns full-width letters into half-width ones; a term typed full-width still matches.
    matcher = ConfidentialMatcher(["极光Ｘ６　Ｐｒｏ"])
    assert matcher.find("极光x6 pro真机曝光") == ["极光Ｘ６　Ｐｒｏ"]


def test_terms_differing_only_in_case_are_kept_once() -> None:
    matcher = ConfidentialMatcher(["IPO时间表", "ipo时间表"])
    assert matcher.terms == ("IPO时间表",)
    assert matcher.find("ipo时间表定了吗") == ["IPO时间表"]


def test_empty_lexicon_matches_nothing() -> None:
    matcher = ConfidentialMatcher([])
    assert len(matcher) == 0
    assert matcher.find("未公布营收 Q4财报") == []


def test_empty_term_is_refused() -> None:
    with pytest.raises(ValueError, match="empty confidential term"):
        ConfidentialMatcher(["极光X6", "  "])


def test_ten_thousand_terms_still_find_the_right_ones() -> None:
    rng = random.Random(7)
    alphabet = [chr(code) for code in range(0x4E00, 0x4E00 + 2000)]
    terms = sorted({"".join(rng.choices(alphabet, k=rng.randint(2, 6))) for _ in range(10_000)})
    terms += ["极光X6", "Project Polaris"]
    matcher = ConfidentialMatcher(terms)
    assert len(matcher) == len(terms)
    post = "".join(rng.choices("的了是在我有他这", k=60))  # characters outside the generated terms
    assert matcher.find(post) == []
    picked = terms[1234]
    assert matcher.find(f"{post}{picked}{post}project POLARIS") == [picked, "Project Polaris"]
    assert matcher.find(f"极光x6{post}") == ["极光X6"]


def test_from_file_reads_terms_categories_comments_and_blank_lines(tmp_path: Path) -> None:
    lexicon = tmp_path / "terms.txt"
    lexicon.write_text(
        "# a comment\n\n极光X6\tcodename\n  # indented comment\n"
        "云栖计划\tproject\n毛利率预估\n极光X6\tcodename\n",
        encoding="utf-8",
    )
    matcher = ConfidentialMatcher.from_file(lexicon)
    assert matcher.terms == ("极光X6", "云栖计划", "毛利率预估")
    assert matcher.category("极光X6") == "codename"
    assert matcher.category("毛利率预估") is None
    assert matcher.find("毛利率预估和极光X6") == ["毛利率预估", "极光X6"]


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ("极光X6\tcodename\n \t\tproject\n", 2, "expected `term<TAB>category`"),
        ("极光X6\tcodename\n   \tproject\n", 2, "empty term"),
        ("# header\n极光X6\tcodename\n云栖计划\n极光x6\tproject\n", 4, "on line 2"),
        ("极光X6\tcodename\t2026\n", 1, "expected `term<TAB>category`"),
    ],
)
def test_from_file_errors_name_file_and_line(tmp_path: Path, content: str, line: int, message: str) -> None:
    lexicon = tmp_path / "terms.txt"
    lexicon.write_text(content, encoding="utf-8")
    with pytest.raises(LexiconError, match=message) as error:
        ConfidentialMatcher.from_file(lexicon)
    assert str(error.value).startswith(f"{lexicon}:{line}: ")
    assert error.value.line_number == line


def test_from_file_rejects_invalid_utf8_with_its_line(tmp_path: Path) -> None:
    lexicon = tmp_path / "terms.txt"
    lexicon.write_bytes("极光X6\n".encode() + "云栖计划\n".encode("gbk"))
    with pytest.raises(LexiconError, match=r"terms\.txt:2: not valid UTF-8"):
        read_confidential_terms(lexicon)


def test_shipped_lexicon_parses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIDENTIAL_TERMS_ENV, raising=False)
    assert confidential_terms_path() == DEFAULT_CONFIDENTIAL_TERMS_PATH
    matcher = ConfidentialMatcher.from_config()
    assert len(matcher) >= 20
    assert matcher.find("内部消息:未公布营收超预期,Q4财报前别外传") == ["未公布营收", "Q4财报"]
    assert {matcher.category(term) for term in matcher.terms} == {"codename", "project", "financial"}


def test_env_var_points_at_another_lexicon(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    lexicon = tmp_path / "mine.txt"
    lexicon.write_text("青峦二期\tproject\n", encoding="utf-8")
    monkeypatch.setenv(CONFIDENTIAL_TERMS_ENV, str(lexicon))
    assert confidential_terms_path() == lexicon
    assert ConfidentialMatcher.from_config().find("青峦二期启动") == ["青峦二期"]
