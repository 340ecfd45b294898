"""Pagination cursors: opaque to clients, and checked as strictly as any other input when they
come back, since a client can send anything as a cursor (rule A1).

A cursor is the keyset position of a page's last row, as JSON in URL-safe base64. Decoding
validates the position with the same bounds as every input: an id of the id pattern, a sort
value that int64 holds, an aware datetime that UTC can hold. Whatever passes can only be
compared with a column, never fail in the database; whatever does not answers 422.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from api.errors import ApiError
from services.creators import SortBy
from workflows.bounds import INT64_MAX, Instant, RowId
from workflows.errors import ErrorKind
from workflows.messages import Id


class Position(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class OrderPosition(Position):
    """The last order of a page of `GET /orders`: newest first, ties by id."""

    created_at: Instant
    id: Id


class ReviewPosition(Position):
    """The last item of a page of a review queue: longest waiting first, ties by id."""

    submitted_at: Instant
    id: Id


class SquarePosition(Position):
    """The last card of a page of the creator square, and the order the page was in."""

    sort: SortBy
    descending: bool
    value: Annotated[int, Field(ge=0, le=INT64_MAX)]
    id: Id


class RowPosition(Position):
    """The last row of a page listed newest first by a serial id: an inbox (N1), a webhook
    endpoint's delivery log (N2)."""

    id: RowId


P = TypeVar("P", bound=Position)


def encode(position: Position) -> str:
    return base64.urlsafe_b64encode(position.model_dump_json().encode()).decode()


def decode(cursor: str, kind: type[P]) -> P:
    try:
        raw = base64.b64decode(cursor, altchars=b"-_", validate=True)
        return kind.model_validate_json(raw)
    except (ValueError, binascii.Error) as e:  # pydantic's ValidationError is a ValueError
        raise ApiError(
            ErrorKind.INVALID_INPUT, "invalid cursor: pass next_cursor from a previous page"
        ) from e
