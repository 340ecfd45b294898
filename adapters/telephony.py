"""Virtual numbers (rules C4, O3): a number that forwards to someone's real phone, so the two
sides of an order can call each other without learning each other's number."""

from __future__ import annotations

import secrets
from typing import Protocol

# 170 and 171 are the mainland prefixes of virtual operators.
VIRTUAL_PREFIX = "170"


class NumberProvider(Protocol):
    def new_number(self) -> str:
        """A fresh number from the provider's pool; routing it is the provider's business."""
        ...


class SimulatedNumberProvider:
    def new_number(self) -> str:
        return VIRTUAL_PREFIX + "".join(secrets.choice("0123456789") for _ in range(8))
