"""Machine pre-review of advertising-law wording (rule B2): the terms of a versioned list
(services/data/ad_law_terms.v*.toml: term, category, the article of 《广告法》 it breaks) found
in a text, each with its position in that text.

No I/O beyond reading the list once: the API runs it on a script's stored text whenever it
answers with the script (nothing is stored, so an answer always says which list found what),
on a video's title and description in the reviewers' queue, and on any text at POST /prereview.

How a text is read, so that width, case and inserted characters cannot hide a term:
- each character is folded to its NFKC form, case-folded (full-width ＡＢＣ１００％ reads as
  abc100%, ⼀ (a Kangxi radical) as 一, Ｎｏ．１ as no.1), where that form is one character;
- SKIPPED characters are passed over, so 最 佳, 最　佳, 最\\u200b佳 and 最*佳 all read as 最佳:
  whitespace of every kind (space, ideographic space U+3000, no-break space, tab, line feed),
  every invisible format character (Unicode category Cf: zero-width space U+200B, zero-width
  (non-)joiner, word joiner U+2060, U+FEFF, soft hyphen), variation selectors, and the marks
  SEPARATORS (in half or full width). Not `.` or `,`: a decimal point or a comma between two
  sentences must not join words;
- terms are read the same way, so a list entry may be written in any width or case.

What is reported: every term found, with `start`/`end` in the original text (Python `str`
indices, i.e. Unicode code points, `end` exclusive: `text[start:end]` is the `text` of the
match, inserted spaces included), except a term lying wholly inside a longer one (全网第一 is
reported once, not also as 第一) or inside an exempt phrase of the list (第一次). Partly
overlapping terms are both reported. A term that begins or ends with a Latin letter or digit
is not found where the original has another letter or digit right before or after it (TOP1 is
not in TOP10, but is in "TOP1 2024" and in TOP1品牌).

Speed: the list is compiled once per version into one Aho-Corasick automaton (pyahocorasick),
which finds every term in one pass; reading the text costs a few scans in C when nothing needs
folding or skipping (`_Reader`). `make bench-prereview` measures a 100,000-character script
at 3-5 ms on the project's machine (docs/PERFORMANCE.md, with what each step saved).
"""

from __future__ import annotations

import bisect
import itertools
import re
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Annotated, Literal

import ahocorasick
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from workflows.errors import ErrorKind, Refusal

# The list in use. A new version is a new file next to it, named here.
TERMS_FILE = "ad_law_terms.v1.toml"

# Marks people put between the characters of a term to get it past a filter (最*佳, 最-佳,
# 最·佳); their full-width forms are skipped too (they fold to these).
SEPARATORS = frozenset("*-_~|/\\·•・")
# Invisible marks that choose a glyph's form (category Mn, so not among the format characters).
VARIATION_SELECTORS = (range(0x180B, 0x1810), range(0xFE00, 0xFE10), range(0xE0100, 0xE01F0))
# Code points scanned for folds and skipped characters: planes 0-2 (surrogates aside) hold
# every character with an NFKC mapping; plane 14 the tags and variation selectors.
_SCANNED = (range(0xD800), range(0xE000, 0x30000), range(0xE0000, 0xE01F0))
# Format characters (zero-width spaces and joiners, bidi marks), nonspacing and enclosing
# combining marks (U+034F, U+0301, ...): nothing, or a mark on the previous character.
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Mn", "Me"})
# Letters that render as blanks: the Hangul fillers, the Khmer inherent vowels, the Braille
# blank (Unicode's Default_Ignorable_Code_Point, with U+2800 which looks the same).
_BLANK_FILLERS = frozenset({0x115F, 0x1160, 0x17B4, 0x17B5, 0x2800, 0x3164, 0xFFA0})


class Mode(StrEnum):
    """What a script upload with matches gets (XIGUA_PREREVIEW_MODE)."""

    # The upload goes through; its answer shows the matches.
    WARN = "warn"
    # The upload is refused (422, problem type AdLawTerms), and the order does not hear of it.
    REFUSE = "refuse"


TermText = Annotated[str, StringConstraints(min_length=1, max_length=50)]


class Term(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    term: TermText
    category: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")]
    article: Annotated[str, StringConstraints(min_length=1, max_length=50)]


class Exempt(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    phrase: TermText


class TermList(BaseModel):
    """A version of the list, as its file holds it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Annotated[str, StringConstraints(min_length=1, max_length=50)]
    terms: list[Term] = Field(min_length=1)
    exempt: list[Exempt] = []

    @model_validator(mode="after")
    def _distinct(self) -> TermList:
        # Two entries that read the same would be one entry with two rules: refuse the file.
        seen: dict[str, str] = {}
        for written in [t.term for t in self.terms] + [e.phrase for e in self.exempt]:
            read = _read_term(written)
            if not read:
                raise ValueError(f"{written!r} is only skipped characters")
            if read in seen:
                raise ValueError(f"{written!r} reads the same as {seen[read]!r}")
            seen[read] = written
        return self


class Match(BaseModel):
    """One term found in a text."""

    term: str = Field(description="the term of the list that was found, as the list writes it")
    category: str = Field(description="absolute, medical, false_claim, investment, ...")
    article: str = Field(description="the article of 《广告法》 it breaks, e.g. 第九条第（三）项")
    start: int = Field(
        ge=0,
        description="where it starts in the text: a Python str index, i.e. counted in Unicode "
        "code points (not UTF-16 units: a JavaScript client must convert past U+FFFF)",
    )
    end: int = Field(ge=0, description="where it ends, exclusive: text[start:end] is `text`")
    text: str = Field(description="the text as written there, with whatever was put between")


class PreReview(BaseModel):
    """What the machine pre-review (B2) found in one text, and with which term list."""

    version: str = Field(description="the version of the term list that was used")
    matches: list[Match] = Field(description="in order of position in the text")


TextSource = Literal["script", "video_title", "video_description"]


class ReviewedText(BaseModel):
    """A text a reviewer judges, with what the pre-review found in it."""

    source: TextSource = Field(description="the latest script, or the video's title or description")
    text: str = Field(description="the text as stored: the pre-review's positions count in it")
    pre_review: PreReview


# --- reading a text ---


@cache
def _folds() -> dict[int, str]:
    """Every character whose NFKC form, case-folded, is another single character."""
    folds = {}
    for point in itertools.chain(*_SCANNED):
        char = chr(point)
        folded = unicodedata.normalize("NFKC", char).casefold()
        if len(folded) == 1 and folded != char:
            folds[point] = folded
    return folds


def _fold(char: str) -> str:
    return _folds().get(ord(char), char)


@cache
def _skipped_points() -> frozenset[int]:
    """Whitespace, format characters, combining marks, blank fillers, variation selectors and
    SEPARATORS in either width: whatever can sit unseen, or nearly, between two characters."""
    points = {
        p
        for p in itertools.chain(*_SCANNED)
        if chr(p).isspace() or unicodedata.category(chr(p)) in _INVISIBLE_CATEGORIES
    }
    points.update(_BLANK_FILLERS)
    points.update(itertools.chain(*VARIATION_SELECTORS))
    points.update(ord(c) for c in SEPARATORS)
    points.update(p for p, folded in _folds().items() if folded in SEPARATORS)
    return frozenset(points)


def _skipped(char: str) -> bool:
    return ord(char) in _skipped_points()


def _char_class(points: Iterable[int]) -> str:
    """The inside of a regex character class holding these code points, as ranges."""
    ranges = []
    for _, run in itertools.groupby(enumerate(sorted(points)), lambda pair: pair[1] - pair[0]):
        block = [p for _, p in run]
        first, last = re.escape(chr(block[0])), re.escape(chr(block[-1]))
        ranges.append(first if len(block) == 1 else f"{first}-{last}")
    return "".join(ranges)


def _read_term(term: str) -> str:
    """A list entry as the matcher reads texts: folded, skipped characters dropped."""
    return "".join(_fold(c) for c in term if not _skipped(c))


@dataclass(frozen=True)
class _Reading:
    """A text as the automaton reads it, and the way back to the original's positions: run i
    of kept characters starts at `read_starts[i]` in `read` and `starts[i]` in the original."""

    read: str
    read_starts: list[int] | None = None
    starts: list[int] | None = None

    def original(self, at: int) -> int:
        if self.read_starts is None or self.starts is None:
            return at
        run = bisect.bisect_right(self.read_starts, at) - 1
        return self.starts[run] + at - self.read_starts[run]


# Outside the BMP a character class is a list of ranges tried one by one, ten times slower per
# character than a BMP class (a bitmap): such classes run only on a text that has such a
# character, which this one finds at the speed of a single range.
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


_MAX_FOLDED_RUNS = 200


def _runs(points: Iterable[int]) -> re.Pattern[str] | None:
    """Runs of these characters, if any."""
    inside = _char_class(points)
    return re.compile(f"[{inside}]+") if inside else None


class _Reader:
    """Reads texts as the terms of one list are read. Each step runs only where it can change
    a match, so a text that needs none costs a few scans of C code:
    - lower case by `str.lower` when it keeps every character one character (it nearly always
      does), then the folds whose result is a character of some term (`，` stays `，`);
    - skipped characters only where they separate two characters that terms are made of: a line
      feed after 。 cannot hide anything, and stays."""

    def __init__(self, alphabet: frozenset[str]) -> None:
        skipped = _skipped_points()
        self._table = {p: c for p, c in _folds().items() if c in alphabet and p not in skipped}
        self._fold = _runs(p for p in self._table if p <= 0xFFFF)
        self._fold_astral = _runs(self._table)
        inner = _char_class(ord(c) for c in alphabet)
        gap = _char_class(p for p in skipped if p <= 0xFFFF)
        gap_astral = _char_class(skipped)
        self._gap = re.compile(f"(?<=[{inner}])[{gap}]+(?=[{inner}])")
        self._gap_astral = re.compile(f"(?<=[{inner}])[{gap_astral}]+(?=[{inner}])")

    def _folded(self, text: str, fold: re.Pattern[str]) -> str:
        # `str.translate` of a whole text costs 40-80 ns a character (an int object and a dict
        # lookup for each), 4-8 ms of the 100,000-character benchmark where the rest costs 4:
        # folding only the runs that need it costs the scan for them, until they are so many
        # that translating everything at once is the cheaper.
        pieces: list[str] = []
        at = 0
        for count, run in enumerate(fold.finditer(text)):
            if count == _MAX_FOLDED_RUNS:
                return text.translate(self._table)
            pieces += (text[at : run.start()], run.group().translate(self._table))
            at = run.end()
        if not pieces:
            return text
        pieces.append(text[at:])
        return "".join(pieces)

    def read(self, text: str) -> _Reading:
        # Every step maps one character to one, or drops some: positions can be mapped back.
        lowered = text.lower()
        if len(lowered) == len(text):
            text = lowered
        astral = _ASTRAL.search(text) is not None
        fold = self._fold_astral if astral else self._fold
        if fold is not None:
            text = self._folded(text, fold)
        gaps = (self._gap_astral if astral else self._gap).finditer(text)
        read_starts, starts, pieces, length, at = [], [], [], 0, 0
        for gap in gaps:
            read_starts.append(length)
            starts.append(at)
            pieces.append(text[at : gap.start()])
            length += gap.start() - at
            at = gap.end()
        if not pieces:
            return _Reading(text)
        read_starts.append(length)
        starts.append(at)
        pieces.append(text[at:])
        return _Reading("".join(pieces), read_starts, starts)


# --- matching ---

_EXEMPT = -1


def _latin(char: str) -> bool:
    return char.isascii() and char.isalnum()


@dataclass(frozen=True)
class _Entry:
    """A list entry as the automaton holds it."""

    read: str
    # Its term's index in the list, or _EXEMPT.
    index: int
    latin_start: bool
    latin_end: bool


# Where a term was found in the read text: first character, end (exclusive), entry.
Found = tuple[int, int, _Entry]


class Matcher:
    """One version of the list, compiled: build it once (`matcher()`), use it for every text."""

    def __init__(self, terms: TermList) -> None:
        self.version = terms.version
        self._terms = terms.terms
        written = [(t.term, i) for i, t in enumerate(terms.terms)]
        written += [(e.phrase, _EXEMPT) for e in terms.exempt]
        self._entries = []
        for entry, index in written:
            read = _read_term(entry)
            self._entries.append(_Entry(read, index, _latin(read[0]), _latin(read[-1])))
        self._automaton = ahocorasick.Automaton()
        for e in self._entries:
            self._automaton.add_word(e.read, e)
        self._automaton.make_automaton()
        self._reader = _Reader(frozenset("".join(e.read for e in self._entries)))

    def review(self, text: str) -> PreReview:
        reading = self._reader.read(text)
        return self._report(text, reading, self._found(reading.read))

    def _found(self, read: str) -> list[Found]:
        """Every entry found, overlapping ones included, in one pass of the automaton."""
        return [
            (last - len(entry.read) + 1, last + 1, entry)
            for last, entry in self._automaton.iter(read)
        ]

    def _report(self, text: str, reading: _Reading, found: list[Found]) -> PreReview:
        # A Latin-edged term next to a letter or digit in the original is part of another word
        # (TOP1 in TOP10).
        found = [f for f in found if self._whole_word(text, reading, *f)]
        # By start, the longer first: a match ending no later than one before it lies inside
        # it. Reading keeps the order of characters, so this holds in the read text too.
        found.sort(key=lambda f: (f[0], -f[1]))
        matches, reach = [], -1
        for first, end, entry in found:
            if end <= reach:
                continue
            reach = end
            if entry.index == _EXEMPT:
                continue
            term = self._terms[entry.index]
            start, stop = reading.original(first), reading.original(end - 1) + 1
            # Built from validated parts: constructing skips validating each field again.
            matches.append(
                Match.model_construct(
                    term=term.term,
                    category=term.category,
                    article=term.article,
                    start=start,
                    end=stop,
                    text=text[start:stop],
                )
            )
        return PreReview.model_construct(version=self.version, matches=matches)

    @staticmethod
    def _whole_word(text: str, reading: _Reading, first: int, end: int, entry: _Entry) -> bool:
        if entry.latin_start:
            start = reading.original(first)
            if start > 0 and _latin(text[start - 1]):
                return False
        if entry.latin_end:
            stop = reading.original(end - 1) + 1
            if stop < len(text) and _latin(text[stop]):
                return False
        return True


def load_terms(name: str = TERMS_FILE) -> TermList:
    """A version of the list, from the files shipped with this package."""
    source = resources.files("services").joinpath("data", name)
    return TermList.model_validate(tomllib.loads(source.read_text(encoding="utf-8")))


@cache
def matcher(name: str = TERMS_FILE) -> Matcher:
    """The compiled list, built on first use (a few tens of milliseconds), once per process."""
    return Matcher(load_terms(name))


def review(text: str) -> PreReview:
    """What the list in use finds in `text`."""
    return matcher().review(text)


# --- the script upload ---


class AdLawTerms(Refusal):
    """A script refused in refuse mode: it holds terms of the list (its `review` says which)."""

    def __init__(self, review: PreReview) -> None:
        found = "、".join(dict.fromkeys(m.term for m in review.matches))
        super().__init__(
            ErrorKind.AD_LAW_TERMS,
            f"the script uses wording that advertising law forbids ({found}): reword it and "
            "upload it again; pre_review lists each match with its position and article",
        )
        self.review = review


def check_upload(text: str, mode: Mode) -> PreReview:
    """The pre-review of a script about to be uploaded; raises AdLawTerms in refuse mode if
    anything was found, before the order hears of the upload."""
    found = review(text)
    if mode is Mode.REFUSE and found.matches:
        raise AdLawTerms(found)
    return found
