"""The fuzz tests run on the API tests' stack: a dev server, a worker, every party logged in."""

from __future__ import annotations

from tests.api.conftest import api

__all__ = ["api"]
