"""E-mail over SMTP (N1): to a configured server (`make run` starts a local one that keeps
every message in a folder, scripts/mailsink.py)."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol


class MailError(Exception):
    """The server did not take the message. `permanent`: it refused it for good (an address
    it does not know, say), and sending it again cannot help."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    # Stable for the notification and recipient, so a mail client shows a repeat as one.
    message_id: str
    event_id: str


class Mailer(Protocol):
    def send(self, mail: Mail) -> None:
        """Hand the mail to the server; MailError if it did not take it."""
        ...


@dataclass(frozen=True)
class SmtpMailer:
    host: str
    port: int
    sender: str
    timeout_s: float = 10.0
    starttls: bool = False
    username: str = ""
    password: str = ""

    def send(self, mail: Mail) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = mail.message_id
        message["X-Xigua-Event-Id"] = mail.event_id
        message.set_content(mail.text)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as e:
            raise MailError(f"the server refused the recipient: {e.recipients}", True) from e
        except smtplib.SMTPResponseException as e:
            # 5xx: refused for good; 4xx: try again later.
            raise MailError(f"SMTP {e.smtp_code}: {e.smtp_error!r}", e.smtp_code >= 500) from e
        except (OSError, smtplib.SMTPException) as e:
            raise MailError(f"{type(e).__name__}: {e}") from e
