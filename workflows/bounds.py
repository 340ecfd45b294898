"""What a value may be when it enters the system: the range of every integer and the characters
of every text a request carries (rule A1). Plain pydantic types, no I/O: the API's schemas and
routes use the types, the services the same limits.

Integers. The app database keeps money and counts in BIGINT (int64; SQLite refuses a larger
value with an error, not a comparison), so every integer the API takes has a range inside it,
and small enough that the sums the system makes of them (a balance, an average of recent
plays, fans on two platforms, a page position) stay inside it too:

- one payment (a quote, a top-up, a withdrawal): 1 to 10^8 fen, 1,000,000 yuan;
- one wallet: at most 10^12 fen (10,000,000,000 yuan); a top-up that would pass it is refused.
  Every sum the system makes is of balances or of payments: to reach int64 (9.2 x 10^18 fen)
  money worth nine million full wallets would have to pass through it;
- a count (fans, plays, likes, comments, shares): 0 to 10^12; the simulator's running counts
  stop there too;
- a refund in a split (X1, X4): 0 to a payment; revision rounds (X2): 0 to 100, the
  configured bounds within;
- an amount to compare with (the square's budget filter): 0 to 10^12 fen;
- a row id handed back (a statement's cursor): 1 to 2^31 - 1, as INTEGER holds on PostgreSQL.

Text. Control characters (Unicode category Cc) and unpaired surrogates (Cs, which cannot even
be stored: PostgreSQL refuses NUL, UTF-8 refuses a lone surrogate) are refused everywhere.
Multi-line prose (requirements, scripts, reasons) keeps tab and line feed, with CR LF and a
lone CR read as a line feed; the bidirectional overrides and isolates that can make a reviewer
read a text in another order than it is stored (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F,
U+061C) are refused. A one-line name (display name, product, category) holds no format
character at all (Cf: the bidi controls, zero-width spaces, U+FEFF) and no line or paragraph
separator. The workflow's own models (workflows/messages.py) keep their length limits only:
they must still read what orders placed before these rules hold, for their histories to replay.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, StringConstraints

from workflows.messages import Product, Reason, Text

INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1
MAX_PAYMENT_FEN = 100_000_000
MAX_BALANCE_FEN = 10**12
MAX_COUNT = 10**12
# The most revision rounds any configuration may allow (X2); config.py sets the bounds within.
MAX_REVISION_ROUNDS = 100

# Arabic letter mark, LRM, RLM, the embeddings and overrides, the isolates.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
PROSE_CONTROLS = frozenset("\t\n")


def _refuse(text: str, why: str, at: int) -> None:
    raise ValueError(f"{why} (U+{ord(text[at]):04X} at position {at}) is not allowed")


def one_line(text: str) -> str:
    """A name: no control, format, surrogate or separator character."""
    for at, char in enumerate(text):
        category = unicodedata.category(char)
        if category in ("Cc", "Cs"):
            _refuse(text, "a control character", at)
        if category == "Cf":
            _refuse(text, "an invisible formatting character", at)
        if category in ("Zl", "Zp"):
            _refuse(text, "a line break", at)
    return text


def prose(text: str) -> str:
    """Free text over several lines: tab and line feed, no other control, no bidi override."""
    for at, char in enumerate(text):
        category = unicodedata.category(char)
        if (category == "Cc" and char not in PROSE_CONTROLS) or category == "Cs":
            _refuse(text, "a control character", at)
        if char in BIDI_CONTROLS:
            _refuse(text, "a bidirectional text control", at)
    return text


def no_control(text: str) -> str:
    """A secret or an address: any printable character, nothing that cannot be stored."""
    for at, char in enumerate(text):
        if unicodedata.category(char) in ("Cc", "Cs"):
            _refuse(text, "a control character", at)
    return text


def _unix_newlines(value: object) -> object:
    return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else value


# --- integers ---

Fen = Annotated[int, Field(ge=0, le=MAX_BALANCE_FEN)]
PaymentFen = Annotated[int, Field(gt=0, le=MAX_PAYMENT_FEN, strict=True)]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
# Fen of an order's price refunded in a split (X1, X4): at most a payment; the workflow
# refuses more than the order's own price.
RefundFen = Annotated[int, Field(ge=0, le=MAX_PAYMENT_FEN, strict=True)]
RevisionRounds = Annotated[int, Field(ge=0, le=MAX_REVISION_ROUNDS, strict=True)]
# A row id the API hands out and takes back (a statement's cursor). Serial ids are INTEGER
# columns, int4 on PostgreSQL, which refuses to compare one with a larger parameter.
RowId = Annotated[int, Field(ge=1, le=INT32_MAX)]


def in_utc(at: datetime) -> datetime:
    try:
        return at.astimezone(UTC)
    except OverflowError as e:  # 0001-01-01T00:00+01:00 is before the first UTC instant
        raise ValueError("the time is out of range") from e


# A point in time the API is given (a cursor's position, a filter's bound): it must say its
# time zone, and be one that UTC can hold, so it can only ever be compared with a column.
Instant = Annotated[AwareDatetime, AfterValidator(in_utc)]

# --- text ---

DisplayName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(one_line),
]
ProductName = Annotated[Product, AfterValidator(one_line)]
Category = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=32),
    AfterValidator(one_line),
]
Prose = Annotated[Text, BeforeValidator(_unix_newlines), AfterValidator(prose)]
Explanation = Annotated[Reason, BeforeValidator(_unix_newlines), AfterValidator(prose)]
