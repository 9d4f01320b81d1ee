"""Settings from the environment (see the README's table)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

BUSINESS_TIME_ZONE = ZoneInfo("Europe/Amsterdam")


def today_in_amsterdam() -> date:
    return datetime.now(BUSINESS_TIME_ZONE).date()


def parse_run_date(text: str | None) -> date:
    """The run date D: `YYYY-MM-DD`, or today in Amsterdam when empty."""
    if not text:
        return today_in_amsterdam()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"run date {text!r} is not a date like 2026-04-01") from None


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str | None
    password: str | None
    starttls: bool


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    sender_address: str
    smtp: SmtpSettings | None

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

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        smtp = None
        if env.get("FEEDBACK_SMTP_HOST"):
            starttls = _flag(env.get("FEEDBACK_SMTP_STARTTLS"))
            port_text = env.get("FEEDBACK_SMTP_PORT") or ("587" if starttls else "25")
            try:
                port = int(port_text)
            except ValueError:
                raise ValueError(f"FEEDBACK_SMTP_PORT={port_text!r} is not a port number") from None
            smtp = SmtpSettings(
                host=env["FEEDBACK_SMTP_HOST"],
                port=port,
                user=env.get("FEEDBACK_SMTP_USER") or None,
                password=env.get("FEEDBACK_SMTP_PASSWORD") or None,
                starttls=starttls,
            )
        return cls(
            data_dir=Path(env.get("FEEDBACK_DATA_DIR") or "data").resolve(),
            sender_address=env.get("FEEDBACK_SENDER_ADDRESS")
            or "Klanttevredenheid <klanttevredenheid@verzekeraar.example>",
            smtp=smtp,
        )
