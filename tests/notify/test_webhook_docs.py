"""docs/WEBHOOKS.md's verification snippet, run as written against real deliveries (rule N2)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from adapters.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookResponse
from services.relay import Channels
from tests.notify.support import (
    CLIENT_ID,
    FakeClock,
    channels,
    make_relay,
    seed_recipients,
    write_outbox,
)
from tests.notify.support import register as register_endpoint
from workflows.messages import Notification

DOC = Path(__file__).resolve().parents[2] / "docs" / "WEBHOOKS.md"


def snippet() -> Callable[..., bool]:
    text = DOC.read_text()
    block = r"<!-- verify:start -->\s*```python\n(.*?)```\s*<!-- verify:end -->"
    match = re.search(block, text, re.S)
    assert match, "docs/WEBHOOKS.md has no verify block"
    namespace: dict[str, Any] = {}
    exec(match.group(1), namespace)
    verify: Callable[..., bool] = namespace["verify"]
    return verify


class Capturing:
    """An endpoint as the receiving end sees it: keeps each request, answers 200."""

    def __init__(self) -> None:
        self.sent: list[tuple[dict[str, str], bytes]] = []

    def post(self, url: str, headers: dict[str, str], body: bytes) -> WebhookResponse:
        self.sent.append((headers, body))
        return WebhookResponse(200)


def test_the_documented_snippet_verifies_a_real_delivery_and_refuses_a_forged_one(
    sqlite_engine: Engine,
) -> None:
    # rule N2
    verify = snippet()
    engine = sqlite_engine
    seed_recipients(engine)
    secret = register_endpoint(engine, "http://127.0.0.1:9/hook")
    write_outbox(engine, "o-1", 1, [Notification(recipient=CLIENT_ID, kind="accepted", body="")])
    sender = Capturing()
    base = channels(engine, 1)
    chans = Channels(telephony=base.telephony, mailer=base.mailer, webhooks=sender)
    make_relay(engine, chans, FakeClock(datetime.now(UTC))).run_once()
    ((headers, body),) = sender.sent
    assert verify(secret, headers, body)
    assert json.loads(body)["event_id"] == headers["Xigua-Event-Id"]
    assert not verify("whsec_wrong", headers, body)
    assert not verify(secret, headers, body.replace(b"accepted", b"cancelled"))
    stale = headers | {TIMESTAMP_HEADER: str(int(headers[TIMESTAMP_HEADER]) - 3600)}
    assert not verify(secret, stale, body)
    assert not verify(secret, headers | {SIGNATURE_HEADER: "v1=00"}, body)
