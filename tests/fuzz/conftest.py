"""The fuzz tests run on the API tests' stack: a dev server, a worker, every party logged in."""

from __future__ import annotations

from tests.api.conftest import api, api_on_every_db

__all__ = ["api", "api_on_every_db"]
