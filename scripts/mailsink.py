"""A local SMTP server for `make run`: the relay's e-mails go to it, and it keeps each one as
an .eml file in a folder (`.data/mail/` by default), as a real mailbox would receive it. For
development and demos only: it accepts mail for anyone and sends nothing on.

`python -m scripts.mailsink --host 127.0.0.1 --port 8025 --dir .data/mail`
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
import uuid
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

import config


class Mailbox:
    """aiosmtpd's handler: every message accepted is written to the folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        # Sorted by arrival; unique across restarts of the sink.
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:6]}.eml"
        recipients = ", ".join(envelope.rcpt_tos)
        (self.folder / name).write_bytes(f"X-Envelope-To: {recipients}\r\n".encode() + content)
        return "250 OK"


def main() -> None:
    settings = config.get_settings()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=settings.smtp_host)
    parser.add_argument("--port", type=int, default=settings.smtp_port)
    parser.add_argument("--dir", type=Path, default=config.DATA_DIR / "mail")
    args = parser.parse_args()
    controller = Controller(Mailbox(args.dir), hostname=args.host, port=args.port)
    controller.start()
    print(f"mail sink on {args.host}:{args.port}, keeping mail in {args.dir}", flush=True)
    stop = asyncio.Event()

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()

    try:
        asyncio.run(serve())
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
