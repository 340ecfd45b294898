"""The machine pre-review of ad-law wording (rule B2): what it finds, where, and what it does
not mistake for a term. No timing here: `make bench-prereview` measures."""

from __future__ import annotations

import random
import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.prereview import (
    TERMS_FILE,
    AdLawTerms,
    Match,
    Mode,
    TermList,
    check_upload,
    load_terms,
    matcher,
    review,
)
from workflows.errors import ErrorKind

ROOT = Path(__file__).resolve().parents[2]


def found(text: str) -> list[tuple[str, int, int, str]]:
    """(term, start, end, text) of every match, after checking each maps back exactly."""
    matches = review(text).matches
    for m in matches:
        assert text[m.start : m.end] == m.text, m
    return [(m.term, m.start, m.end, m.text) for m in matches]


def test_absolute_terms_are_found_with_their_position_and_article() -> None:
    # rule B2
    text = "开场：这是最佳的酱油，国家级工艺，顶级口感。"
    result = review(text)
    assert result.version == load_terms().version
    assert [(m.term, m.start, m.end) for m in result.matches] == [
        ("最佳", 5, 7),
        ("国家级", 11, 14),
        ("顶级", 17, 19),
    ]
    assert {m.article for m in result.matches} == {"第九条第（三）项"}
    assert {m.category for m in result.matches} == {"absolute"}


@pytest.mark.parametrize(
    ("text", "term", "written"),
    [
        ("这是最 佳选择", "最佳", "最 佳"),
        ("这是最　佳选择", "最佳", "最\u3000佳"),  # ideographic space
        ("这是最\u200b佳选择", "最佳", "最\u200b佳"),  # zero-width space
        ("这是最\u2060\ufeff佳选择", "最佳", "最\u2060\ufeff佳"),  # word joiner, BOM
        ("这是最 \u200b\u3000 佳选择", "最佳", "最 \u200b\u3000 佳"),
        ("这是最\n佳选择", "最佳", "最\n佳"),
        ("这是最*佳选择", "最佳", "最*佳"),
        ("这是最·佳选择", "最佳", "最·佳"),
        ("这是最－佳选择", "最佳", "最－佳"),  # a full-width hyphen-minus
        ("品牌ＮＯ．１", "NO.1", "ＮＯ．１"),  # full width
        ("品牌No.1！", "NO.1", "No.1"),  # case
        ("品牌ｎｏ.1", "NO.1", "ｎｏ.1"),  # half and full width mixed
        ("T O P 1 的品牌", "TOP1", "T O P 1"),
        ("保证１００％有效", "100%有效", "１００％有效"),
        ("保证１00%有效", "100%有效", "１00%有效"),
        ("保证 1 0 0 % 有 效", "100%有效", "1 0 0 % 有 效"),
        ("销量第⼀", "销量第一", "销量第⼀"),  # ⼀ is the Kangxi radical U+2F00
        ("可以根\ufe0f治", "根治", "根\ufe0f治"),  # a variation selector
        ("这是最\u034f佳选择", "最佳", "最\u034f佳"),  # combining grapheme joiner
        ("这是最\u0301佳选择", "最佳", "最\u0301佳"),  # a combining accent
        ("这是最\u3164佳选择", "最佳", "最\u3164佳"),  # a Hangul filler
        ("这是最\u2800佳选择", "最佳", "最\u2800佳"),  # the Braille blank
    ],
)
def test_evasions_of_width_case_and_inserted_characters_are_found(
    text: str, term: str, written: str
) -> None:
    # rule B2
    [(got, start, end, as_written)] = found(text)
    assert (got, as_written) == (term, written)
    assert text.index(written) == start
    assert end == start + len(written)


def test_positions_are_python_indices_past_the_bmp_too() -> None:
    # rule B2: an emoji is one index (two UTF-16 units), and the position still maps back
    text = "😀😀 第一名！🏆最\u200b好"
    assert found(text) == [("第一", 3, 5, "第一"), ("最好", 8, 11, "最\u200b好")]


def test_clean_copy_has_no_match() -> None:
    # rule B2: ordinary words that hold a term's characters, decimals, longer Latin runs
    clean = (
        "第一次打开瓶盖，就能闻到豆香。第一步：热锅；第一天就用完了半瓶。\n"
        "这一期我们做红烧肉，第一集的链接在评论区。\n"
        "含盐量 1.00%，比上一代少了 20%。\n"
        "TOP10 菜谱里有它，stop1 也不是一个词，NO.12 号货架。\n"
        "最后，祝大家好胃口：最 后 一 步 是收汁。\n"
    )
    assert found(clean) == []


def test_a_term_inside_a_longer_one_is_reported_once_and_overlaps_both() -> None:
    # rule B2: 第一 lies inside 全网第一; 史上最 and 最好 only overlap
    assert found("全网第一的酱油") == [("全网第一", 0, 4, "全网第一")]
    assert found("全 网 第 一") == [("全网第一", 0, 7, "全 网 第 一")]
    assert found("史上最好") == [("史上最", 0, 3, "史上最"), ("最好", 2, 4, "最好")]
    # An exempt phrase hides only the term inside it, not a longer one overlapping it.
    assert found("全网第一次降价") == [("全网第一", 0, 4, "全网第一")]


def test_latin_edged_terms_are_whole_words_in_the_original() -> None:
    # rule B2
    assert found("TOP10") == []
    assert found("ATOP1") == []
    assert found("TOP1!") == [("TOP1", 0, 4, "TOP1")]
    assert found("TOP1 2024") == [("TOP1", 0, 4, "TOP1")]
    assert found("TOP1品牌") == [("TOP1", 0, 4, "TOP1")]


def test_every_inserted_character_maps_back_exactly() -> None:
    # rule B2: terms split at random by skipped characters, in random copy
    rng = random.Random(12)
    fillers = [" ", "\u3000", "\u200b", "\u200d", "\ufeff", "\u00a0", "\t", "*", "·", "\n"]
    terms = [t.term for t in load_terms().terms if t.term.isascii() is False]
    for _ in range(300):
        term = rng.choice(terms)
        written = "".join(c + "".join(rng.choices(fillers, k=rng.randint(0, 2))) for c in term)
        written = written.rstrip("".join(fillers))
        before = "".join(rng.choices("的了在这一天我们你好。，！", k=rng.randint(0, 5)))
        text = f"{before}{written}。"
        matches = review(text).matches
        assert [m for m in matches if m.term == term], (text, matches)
        for m in matches:
            assert text[m.start : m.end] == m.text
        hit = next(m for m in matches if m.term == term)
        assert (hit.start, hit.end) == (len(before), len(before) + len(written))


def test_a_100_kb_script_reports_every_planted_term_at_its_place() -> None:
    # rule B2: correctness on a long text (its speed is the benchmark's: docs/PERFORMANCE.md)
    rng = random.Random(2026)
    copy = "这款酱油选用优质黄豆，古法酿造，第一次打开就能闻到豆香。\n"
    planted = [("最佳", "最 佳"), ("全网第一", "全网第一"), ("100%有效", "１００％有效")]
    parts, expected, at = [], [], 0
    while at < 100_000:
        parts.append(copy)
        at += len(copy)
        if rng.random() < 0.2:
            term, written = rng.choice(planted)
            expected.append((term, at, at + len(written), written))
            parts.append(written)
            at += len(written)
    text = "".join(parts)
    assert len(text) >= 100_000
    assert found(text) == expected
    assert len(expected) > 300


def test_the_list_is_data_with_a_version_and_an_article_for_every_term() -> None:
    # rule B2: read as the package ships it (package data, not a path of the checkout)
    listed = load_terms()
    with (ROOT / "services" / "data" / TERMS_FILE).open("rb") as f:
        assert listed == TermList.model_validate(tomllib.load(f))
    assert listed.version
    assert {"最佳", "最好", "第一", "国家级", "最高级", "顶级", "极品", "独家", "万能"} <= {
        t.term for t in listed.terms
    }
    assert all(t.article.startswith("第") for t in listed.terms)
    assert matcher().version == listed.version
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "data/*.toml" in pyproject["tool"]["setuptools"]["package-data"]["services"]


def test_a_list_with_two_entries_that_read_the_same_is_refused() -> None:
    # rule B2: 最 佳 is read as 最佳: one term with two rules would be ambiguous
    article = {"category": "absolute", "article": "第九条第（三）项"}
    with pytest.raises(ValidationError, match="reads the same as"):
        TermList(version="x", terms=[{"term": "最佳", **article}, {"term": "最 佳", **article}])
    with pytest.raises(ValidationError, match="only skipped characters"):
        TermList(version="x", terms=[{"term": " * ", **article}])


def test_the_upload_check_warns_or_refuses_by_mode() -> None:
    # rule B2
    assert check_upload("最佳酱油", Mode.WARN).matches[0].term == "最佳"
    assert check_upload("好酱油", Mode.REFUSE).matches == []
    with pytest.raises(AdLawTerms) as refused:
        check_upload("最佳酱油，全网第一", Mode.REFUSE)
    assert refused.value.kind is ErrorKind.AD_LAW_TERMS
    assert [m.term for m in refused.value.review.matches] == ["最佳", "全网第一"]
    assert isinstance(refused.value.review.matches[0], Match)
    assert "最佳、全网第一" in refused.value.message
