"""Telephony: virtual numbers (rules C4, O3), a number that forwards to someone's real phone so
the two sides of an order can call each other without learning each other's number; and text
messages to a user's own contact phone (N1)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import Engine, select

from db.schema import simulated_sms
from db.sql import insert_ignore

# 170 and 171 are the mainland prefixes of virtual operators.
VIRTUAL_PREFIX = "170"


class SmsError(Exception):
    """The provider did not take the message; worth trying again later."""


class Telephony(Protocol):
    def new_number(self) -> str:
        """A fresh number from the provider's pool; routing it is the provider's business."""
        ...

    def send_sms(self, to_number: str, text: str, reference: str) -> None:
        """Send a text to `to_number`. `reference` is ours and stable for one message: the
        provider sends a message once per reference, however often it is asked. Raises
        SmsError if the provider refused or could not be reached."""
        ...


class SimulatedTelephony:
    """The local stand-in for the provider: numbers from its pool, and every text it was
    asked to send kept in the app database (what a phone would have received)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def new_number(self) -> str:
        return VIRTUAL_PREFIX + "".join(secrets.choice("0123456789") for _ in range(8))

    def send_sms(self, to_number: str, text: str, reference: str) -> None:
        with self._engine.begin() as conn:
            insert_ignore(
                conn,
                simulated_sms,
                {
                    "reference": reference,
                    "to_number": to_number,
                    "text": text,
                    "sent_at": datetime.now(UTC),
                },
            )

    def sent(self, to_number: str | None = None) -> list[tuple[str, str, str]]:
        """(reference, number, text) of every text sent, oldest first; to one number if given."""
        query = select(simulated_sms).order_by(simulated_sms.c.sent_at, simulated_sms.c.reference)
        if to_number is not None:
            query = query.where(simulated_sms.c.to_number == to_number)
        with self._engine.connect() as conn:
            return [(r.reference, r.to_number, r.text) for r in conn.execute(query)]
