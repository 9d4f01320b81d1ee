"""Settings from the environment (docs/contract.md lists each with its default)."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

BUSINESS_TIME_ZONE = ZoneInfo("Europe/Amsterdam")

# DuckDB's memory per connection; past it, joins, sorts and windows spill to a folder beside the
# warehouse. DuckDB's own default, 80% of the machine, would let a run over years of history take
# most of a shared machine. `profiles.yml` gives dbt the same limit.
DEFAULT_MEMORY_LIMIT = "2GB"


def today_in_amsterdam() -> date:
    return datetime.now(BUSINESS_TIME_ZONE).date()


def parse_run_date(text: str | None) -> date:
    """The run date D: `YYYY-MM-DD`, or today in Amsterdam when empty.

    A date more than a year after today is refused: a run masks, for good, the personal data of
    every record dated 3 months before its run date, so a mistyped year (2062 for 2026) would
    mask all of it, and leave the contacts of the last two weeks decided as too old to invite."""
    today = today_in_amsterdam()
    if not text:
        return today
    try:
        run_date = date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"run date {text!r} is not a date like 2026-04-01") from None
    if run_date > today + timedelta(days=366):
        raise ValueError(
            f"run date {run_date} is more than a year after today ({today}): a run masks the"
            " personal data of every record dated 3 months before its run date, for good;"
            " check the date"
        )
    return run_date


def memory_limit(env: dict[str, str] | None = None) -> str:
    """`FEEDBACK_MEMORY_LIMIT`, as DuckDB spells a size (`2GB`, `512MB`, `4GiB`)."""
    value = (os.environ if env is None else env).get("FEEDBACK_MEMORY_LIMIT") or ""
    value = value.strip() or DEFAULT_MEMORY_LIMIT
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)? ?[KMGT]i?B", value, re.IGNORECASE):
        raise ValueError(f"FEEDBACK_MEMORY_LIMIT={value!r} is not a size like 2GB or 512MB")
    return value


def public_apis_only(env: dict[str, str] | None = None) -> bool:
    """`FEEDBACK_PUBLIC_APIS_ONLY`: run dbt and Dagster through their public APIs alone, without
    the speedups of `orchestration.private_speedups` (for an upgrade that broke one of them)."""
    return _flag(os.environ if env is None else env, "FEEDBACK_PUBLIC_APIS_ONLY")


def _flag(env: dict[str, str], name: str) -> bool:
    """A yes/no setting, unset is no. Anything else is refused: a misspelt yes taken as no
    would, for STARTTLS, send the password in the clear."""
    text = env.get(name) or ""
    value = text.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"", "0", "false", "no", "off"}:
        return False
    raise ValueError(f"{name}={text!r} is not a yes or a no (1, true, yes, on; 0, false, no, off)")


def _number(env: dict[str, str], name: str, default: float, *, minimum: float = 0) -> float:
    text = env.get(name) or ""
    if not text.strip():
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ValueError(f"{name}={text!r} is not a number")
    if value < minimum:
        raise ValueError(f"{name}={text!r} must be at least {minimum:g}")
    return value


def _address(env: dict[str, str], name: str, default: str) -> str:
    value = env.get(name) or default
    if "@" not in parseaddr(value)[1]:
        raise ValueError(f"{name}={value!r} is not an e-mail address like 'Naam <naam@domein.nl>'")
    return value


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str | None
    password: str | None
    starttls: bool
    # Messages per second at most (0: as fast as the server answers).
    rate: float = 0.0
    # How long one run keeps retrying deferrals (4xx) and lost connections before it leaves
    # the rest to the next run.
    retry_seconds: float = 120.0
    timeout_seconds: float = 30.0


@dataclass(frozen=True)
class MessageSettings:
    """What every invitation e-mail carries besides the invitation itself."""

    sender_address: str
    reply_to_address: str
    # The unsubscribe page; `{invitation_id}` in it is replaced, else the id is appended.
    unsubscribe_url: str
    unsubscribe_mailbox: str


@dataclass(frozen=True)
class Freshness:
    """How many whole days before a run date without a record of a source make a warning, and
    an error (None: never)."""

    warn_after_days: int | None
    error_after_days: int | None


def _freshness(env: dict[str, str], name: str, default: str) -> Freshness:
    """`WARN,ERROR` in days (`7,14`), one number for a warning alone, or `off`."""
    text = (env.get(name) or default).strip().lower()
    if text == "off":
        return Freshness(None, None)
    parts = [part.strip() for part in text.split(",")]
    if len(parts) > 2 or not all(part.isdigit() for part in parts):
        raise ValueError(
            f"{name}={text!r} is not days to warn and to fail after, like 7,14 (or 7, or off)"
        )
    warn, error = int(parts[0]), int(parts[1]) if len(parts) == 2 else None
    if error is not None and error < warn:
        raise ValueError(f"{name}={text!r}: the error comes after the warning, like 7,14")
    return Freshness(warn, error)


# Per source with dated records, its setting and the default: contacts come daily, KCM's answers
# at least weekly. Opt-outs come when customers ask, so they have none.
FRESHNESS_SETTINGS = {
    "contact_events": ("FEEDBACK_FRESHNESS_CONTACTS", "2,4"),
    "kcm_responses": ("FEEDBACK_FRESHNESS_KCM", "7,14"),
}


def _freshness_of_sources(env: dict[str, str]) -> dict[str, Freshness]:
    return {
        source: _freshness(env, name, default)
        for source, (name, default) in FRESHNESS_SETTINGS.items()
    }


@dataclass(frozen=True)
class AlertSettings:
    """Where operations is told of a run that needs attention."""

    # E-mailed through the SMTP settings when both are set; else written to alerts/.
    address: str | None
    # The Dagster UI, for the link to the run.
    ui_url: str
    # Per source with dated records: how many days without one make a warning, an error.
    freshness: dict[str, Freshness] = field(default_factory=lambda: _freshness_of_sources({}))


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    messages: MessageSettings
    smtp: SmtpSettings | None
    alerts: AlertSettings = AlertSettings(None, "http://127.0.0.1:3000")

    @property
    def warehouse_path(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def landing_dir(self) -> Path:
        return self.data_dir / "landing"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def public_dir(self) -> Path:
        return self.data_dir / "public"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def alerts_dir(self) -> Path:
        return self.data_dir / "alerts"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        smtp = None
        if env.get("FEEDBACK_SMTP_HOST"):
            starttls = _flag(env, "FEEDBACK_SMTP_STARTTLS")
            port_text = env.get("FEEDBACK_SMTP_PORT") or ("587" if starttls else "25")
            try:
                port = int(port_text)
            except ValueError:
                port = 0
            if not 1 <= port <= 65535:
                raise ValueError(f"FEEDBACK_SMTP_PORT={port_text!r} is not a port number")
            smtp = SmtpSettings(
                host=env["FEEDBACK_SMTP_HOST"],
                port=port,
                user=env.get("FEEDBACK_SMTP_USER") or None,
                password=env.get("FEEDBACK_SMTP_PASSWORD") or None,
                starttls=starttls,
                rate=_number(env, "FEEDBACK_SMTP_RATE", 0.0),
                retry_seconds=_number(env, "FEEDBACK_SMTP_RETRY_SECONDS", 120.0),
            )
        sender = _address(
            env,
            "FEEDBACK_SENDER_ADDRESS",
            "Klanttevredenheid <klanttevredenheid@verzekeraar.example>",
        )
        sender_domain = parseaddr(sender)[1].rpartition("@")[2]
        messages = MessageSettings(
            sender_address=sender,
            reply_to_address=_address(
                env, "FEEDBACK_REPLY_TO_ADDRESS", f"Klantenservice <klantenservice@{sender_domain}>"
            ),
            unsubscribe_url=env.get("FEEDBACK_UNSUBSCRIBE_URL")
            or f"https://www.{sender_domain}/klanttevredenheid/afmelden",
            unsubscribe_mailbox=parseaddr(
                _address(env, "FEEDBACK_UNSUBSCRIBE_MAILBOX", f"afmelden@{sender_domain}")
            )[1],
        )
        if not _is_web_address(messages.unsubscribe_url):
            raise ValueError(
                f"FEEDBACK_UNSUBSCRIBE_URL={messages.unsubscribe_url!r} is not an http(s) URL"
            )
        alerts = AlertSettings(
            address=_address(env, "FEEDBACK_ALERT_ADDRESS", "")
            if env.get("FEEDBACK_ALERT_ADDRESS")
            else None,
            ui_url=(env.get("FEEDBACK_UI_URL") or "http://127.0.0.1:3000").rstrip("/"),
            freshness=_freshness_of_sources(env),
        )
        if not _is_web_address(alerts.ui_url):
            raise ValueError(f"FEEDBACK_UI_URL={alerts.ui_url!r} is not an http(s) URL")
        memory_limit(env)  # checked before a run starts, used where DuckDB opens
        public_apis_only(env)  # likewise, read where the run starts dbt and Dagster
        given = env.get("FEEDBACK_DATA_DIR") or "data"
        if given.startswith("~"):
            # Only a shell expands it; here it would name a folder `~` in the working directory.
            raise ValueError(
                f"FEEDBACK_DATA_DIR={given!r} starts with ~, which only a shell expands:"
                " give the folder's full path"
            )
        data_dir = Path(given).resolve()
        if data_dir.exists() and not data_dir.is_dir():
            raise ValueError(f"FEEDBACK_DATA_DIR={str(data_dir)!r} is not a folder")
        return cls(
            data_dir=data_dir,
            messages=messages,
            smtp=smtp,
            alerts=alerts,
        )


def _is_web_address(url: str) -> bool:
    """An http(s) URL with a host and no white space: every invitation carries it, so a broken
    one would reach every customer of a run."""
    parts = urlsplit(url)
    return (
        parts.scheme in {"https", "http"}
        and bool(parts.hostname)
        and not any(c.isspace() for c in url)
    )


@contextmanager
def environment(**values: str | None) -> Iterator[None]:
    """Environment variables set (None: unset) for the block, and restored after it: the
    steps of a run read their settings from the environment, and what one run sets must not
    outlive it in a long-lived process."""
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            _set(name, value)
        yield
    finally:
        for name, value in saved.items():
            _set(name, value)


def _set(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
