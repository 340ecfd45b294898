"""A notification never passes on a real phone number or e-mail address (C4, N1)."""

from __future__ import annotations

import pytest

from services.notifications import HIDDEN_EMAIL, HIDDEN_PHONE, redact


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("call 13800138000", f"call {HIDDEN_PHONE}"),
        ("call １３８００１３８０００ now", f"call {HIDDEN_PHONE} now"),  # full width
        ("138.0013.8000", HIDDEN_PHONE),
        ("138 0013 8000", HIDDEN_PHONE),
        ("+86 138-0013-8000", HIDDEN_PHONE),
        ("(138)0013-8000", f"({HIDDEN_PHONE}"),
        ("mail a＠b.com", f"mail {HIDDEN_EMAIL}"),
        ("mail x@y.org, then 13800138000", f"mail {HIDDEN_EMAIL}, then {HIDDEN_PHONE}"),
    ],
)
def test_phone_numbers_and_addresses_are_hidden_however_typed(text: str, shown: str) -> None:
    # rules C4 N1
    assert redact(text) == shown


@pytest.mark.parametrize("text", ["价格13800元", "order 12345678901234", "第1名，共8800元"])
def test_other_numbers_stay(text: str) -> None:
    # rule N1: prices and ids are not phone numbers
    assert redact(text) == text
