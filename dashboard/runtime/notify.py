"""Sending a short text out: a JSON webhook (Slack, Microsoft Teams) and e-mail through SMTP, with retries.

Only the standard library (:mod:`urllib.request`, :mod:`smtplib`): no runtime dependency for two
small POSTs a day.

* :class:`Webhook` posts ``{"text": "..."}`` as ``application/json``: the body Slack's incoming
  webhooks and Microsoft Teams' incoming webhooks (the Office 365 connector) both accept (a Teams
  Workflows webhook posts what its flow says: see ``docs/alerts.md``); a 2xx answer is delivered.
* :class:`Smtp` sends one plain-text message through an SMTP relay (``STARTTLS`` and a login when
  configured; the password comes from an environment variable the configuration names, never from
  the file).

:func:`send_with_retries` tries a channel up to ``attempts`` times, waiting ``backoff_s``, then
twice as long each time; an answer that cannot improve (HTTP 4xx but 408 and 429, an SMTP login or
recipient refused) stops at once. What it returns says whether the text was delivered, after how
many tries, and the last error: the caller writes the dead-letter line.
"""

from __future__ import annotations

import json
import logging
import smtplib
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

log = logging.getLogger(__name__)

TIMEOUT_S = 10.0  # per try: a relay that does not answer in 10 s is down for this try
_RETRYABLE_HTTP = frozenset({408, 429})


class PermanentError(Exception):
    """A refusal that retrying will not change (a wrong URL, a revoked hook, a refused login)."""


@dataclass(frozen=True)
class Webhook:
    """An incoming webhook URL (Slack, Microsoft Teams, or anything taking ``{"text": ...}``)."""

    url: str
    name: str = "webhook"

    def send(self, subject: str, text: str) -> None:
        """POST ``{"text": subject + text}``; raises on anything but a 2xx answer."""
        del subject  # a chat message is one text: the caller's text starts with what the subject says
        body = json.dumps({"text": text}).encode()
        request = urllib.request.Request(self.url, data=body, method="POST",
                                         headers={"Content-Type": "application/json", "User-Agent": "mmpos-alerts"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 - the desk's own URL
                response.read()
        except urllib.error.HTTPError as err:
            if 400 <= err.code < 500 and err.code not in _RETRYABLE_HTTP:
                raise PermanentError(f"HTTP {err.code} {err.reason}") from err
            raise


@dataclass(frozen=True)
class Smtp:
    """An SMTP relay and the message's envelope."""

    host: str
    port: int
    sender: str
    recipients: Sequence[str]
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    name: str = "email"

    def send(self, subject: str, text: str) -> None:
        """Send one plain-text message; raises on failure."""
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message.set_content(text)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_S) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except (smtplib.SMTPAuthenticationError, smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as err:
            raise PermanentError(f"SMTP refused: {err}") from err


class Channel(Protocol):
    """What :func:`send_with_retries` sends through (:class:`Webhook`, :class:`Smtp`)."""

    @property
    def name(self) -> str: ...

    def send(self, subject: str, text: str) -> None: ...


@dataclass(frozen=True)
class Delivery:
    """How sending one text through one channel went."""

    channel: str
    delivered: bool
    attempts: int
    error: str | None = None


def send_with_retries(channel: Channel, subject: str, text: str, *, attempts: int, backoff_s: float,
                      sleep: Callable[[float], None] = time.sleep) -> Delivery:
    """Send through ``channel``, retrying with exponential backoff; never raises for a delivery failure."""
    error = None
    for attempt in range(1, max(attempts, 1) + 1):
        try:
            channel.send(subject, text)
            return Delivery(channel.name, True, attempt)
        except PermanentError as err:
            return Delivery(channel.name, False, attempt, str(err))
        except (OSError, smtplib.SMTPException) as err:  # urllib's URLError/HTTPError are OSErrors
            error = f"{type(err).__name__}: {err}"
            log.info("alert via %s failed (try %d of %d): %s", channel.name, attempt, attempts, error)
            if attempt < attempts:
                sleep(backoff_s * 2 ** (attempt - 1))
    return Delivery(channel.name, False, max(attempts, 1), error)
