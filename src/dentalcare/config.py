"""Settings: one class, read from the environment with the DENTALCARE_ prefix."""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the service; see the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="DENTALCARE_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    # Unset: the service starts its own PostgreSQL under data_dir/pgdata.
    database_url: str | None = None
    data_dir: Path = Path(".dentalcare")
    # The role the service's pool works as: row-level security applies to it.
    app_db_role: str = "dentalcare_app"
    # The password that role logs in with (set on it by the migrations); unset: the
    # server's own rules (the embedded server: a Unix socket only this user can reach).
    app_db_password: SecretStr | None = None
    db_pool_min_size: int = Field(default=2, ge=1)
    db_pool_max_size: int = Field(default=20, ge=1)
    # How long a request waits for a pooled connection before it is answered 503.
    db_acquire_timeout_seconds: float = Field(default=5.0, gt=0)
    secret_key: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    clinic_timezone: str = "UTC"
    # The clinic's country (ISO 3166 code, e.g. "GB"): phone numbers typed without their
    # country code belong to it. Unset: the country of clinic_timezone (none for UTC).
    clinic_country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    # The clinic as calendar files name it (LOCATION: "name, address"), until the clinic
    # settings of API.md v2 have a table of their own.
    clinic_name: str = Field(default="DentalCareConnect", max_length=200)
    clinic_address: str = Field(default="", max_length=500)
    min_notice_minutes: int = Field(default=60, ge=0)
    # GET /api/dentists/{id}/slots answers are kept in each process until a change that
    # could move a slot (availability/cache.py), and at most this long: the bound for
    # changes no event reports (chairs, treatment types, clinic settings edited through
    # another process). 0: no cache.
    slots_cache_seconds: float = Field(default=30, ge=0, le=3600)
    access_token_minutes: int = Field(default=12 * 60, ge=1)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    login_attempts_per_minute: int = Field(default=10, ge=1)
    bookings_per_minute: int = Field(default=20, ge=1)
    # Picking a time on the booking page holds it: more clicks than bookings.
    holds_per_minute: int = Field(default=60, ge=1)
    hold_sweep_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    # Waitlist: how long an offered slot is held for the offeree (longer than a booking
    # form's hold: the offer goes by e-mail/SMS), how often freed slots are looked for,
    # and how often due recalls are sent.
    waitlist_offer_minutes: int = Field(default=30, ge=1, le=24 * 60)
    waitlist_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    recall_interval_seconds: float = Field(default=300, gt=0)
    # Guest look-ups (reference + e-mail) per address and per reference.
    lookups_per_minute: int = Field(default=10, ge=1)
    # Upcoming (pending or confirmed) bookings a guest may hold per e-mail address, per
    # phone number and per client address; 0 = no cap. Logged-in patients are not capped.
    guest_active_bookings_per_email: int = Field(default=5, ge=0)
    guest_active_bookings_per_phone: int = Field(default=5, ge=0)
    guest_active_bookings_per_address: int = Field(default=10, ge=0)
    # Off: no rate limits and no guest booking caps (benchmarks, tests).
    rate_limits_enabled: bool = True
    # argon2 checks at once per process (each takes a core for ~50 ms), and how long a
    # login waits for one before it is answered 503.
    password_hash_concurrency: int = Field(default=2, ge=1)
    password_hash_wait_seconds: float = Field(default=5.0, ge=0)
    # The booking assistant: a conversation is some 20 messages, so these stay far above a
    # patient's pace. Messages count per session and per address (a household or a
    # waiting room shares one); new conversations per address.
    chat_messages_per_minute: int = Field(default=30, ge=1)
    chat_address_messages_per_minute: int = Field(default=120, ge=1)
    chat_sessions_per_hour: int = Field(default=60, ge=1)
    # How long understanding one message may take before the turn answers "say it more
    # simply" instead (it runs in a worker thread, off the event loop).
    chat_understanding_seconds: float = Field(default=0.5, gt=0)
    # Guest conversations not touched for this long are deleted (checked every interval).
    chat_retention_days: float = Field(default=30, ge=1)
    chat_retention_interval_seconds: float = Field(default=3600, gt=0)
    cookie_secure: bool = False
    # Realtime sync (WebSocket /api/realtime and its event listener).
    ws_ping_seconds: float = Field(default=30, gt=0)
    ws_idle_timeout_seconds: float = Field(default=90, gt=0)
    # Bytes a socket may have waiting beyond what the kernel took before it counts as too slow
    # (closed with 4008); also bounds the live events held back during a `since` replay.
    ws_send_queue_bytes: int = Field(default=1024 * 1024, ge=1024)
    ws_max_subscriptions: int = Field(default=256, ge=1)
    # What one socket may send (token buckets, realtime/limits.py): every message draws on
    # the first; a `subscribe` with `since` (a replay) on the second, far smaller, as well.
    # Refused messages get an `error`; this many refusals in a row close the socket (4029).
    ws_messages_per_second: float = Field(default=20, gt=0)
    ws_message_burst: int = Field(default=300, ge=1)
    ws_replays_per_second: float = Field(default=1, gt=0)
    ws_replay_burst: int = Field(default=32, ge=1)
    ws_refusals_before_close: int = Field(default=10, ge=1)
    # An anonymous replay this long is answered with `reset` (refetch over REST) instead:
    # `since` more than this many log positions behind the head, or a first missed event
    # older than this.
    ws_anonymous_replay_max_events: int = Field(default=1000, ge=0)
    ws_anonymous_replay_max_seconds: float = Field(default=600, ge=0)
    # Log positions the anonymous replays of one client address may cover (a token bucket
    # shared by its sockets, so reconnecting does not refill it); past it, `reset` too.
    ws_anonymous_replay_positions_per_second: float = Field(default=5000, gt=0)
    ws_anonymous_replay_positions_burst: int = Field(default=50_000, ge=1)
    # Sockets open at once from one client address (a clinic's front desk behind one NAT
    # fits); the next one is closed with 4029 right after the handshake.
    ws_max_sockets_per_address: int = Field(default=200, ge=1)
    # Messages per second of all the sockets of one address together (a token bucket that
    # outlives them); past it their messages are read later, not refused.
    ws_address_messages_per_second: float = Field(default=200, gt=0)
    ws_address_message_burst: int = Field(default=2000, ge=1)
    realtime_poll_seconds: float = Field(default=1.0, gt=0)
    # Account e-mails (password reset, "e-mail me my bookings") per address and per hour.
    account_emails_per_hour: int = Field(default=5, ge=1)
    event_retention_days: float = Field(default=7, gt=0)
    event_prune_interval_seconds: float = Field(default=3600, gt=0)
    # The outbox (e-mail and SMS). smtp://[user:pass@]host[:port], smtps://… (TLS) or
    # smtp+starttls://…; unset: mail is captured for /admin/mail (refused in production
    # unless email_enabled is false, which starts no delivery workers at all).
    smtp_url: SecretStr | None = None
    mail_from: str = Field(default="DentalCareConnect <no-reply@localhost>", max_length=300)
    # Links in messages start with it (and Message-IDs end in its host).
    public_url: str = Field(default="http://127.0.0.1:8000", max_length=300)
    email_enabled: bool = True
    # An HTTP endpoint taking {"to", "text"} as JSON; unset: no SMS is created.
    sms_url: str | None = None
    # Delivery workers per service process (any number of processes may run them).
    outbox_workers: int = Field(default=1, ge=0, le=32)
    outbox_batch: int = Field(default=50, ge=1, le=1000)
    outbox_poll_seconds: float = Field(default=0.5, gt=0)
    # A claimed message not reported within this long (its worker died) goes again.
    outbox_lease_seconds: float = Field(default=120, gt=0)
    outbox_retry_base_seconds: float = Field(default=30, gt=0)
    outbox_retry_max_seconds: float = Field(default=3600, gt=0)
    # While this process is answering HTTP requests, the share of the time its workers
    # may spend delivering (1: deliver at full speed regardless). Requests come first;
    # what waits is sent once they stop (see OutboxWorker).
    outbox_busy_share: float = Field(default=0.1, gt=0, le=1)

    @field_validator("clinic_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @cached_property
    def jwt_secret(self) -> str:
        """The signing key: configured, or in development generated once and kept."""
        if self.secret_key is not None:
            value = self.secret_key.get_secret_value()
            if self.env == "production" and len(value) < 32:
                raise RuntimeError("DENTALCARE_SECRET_KEY must be at least 32 characters")
            return value
        if self.env == "production":
            raise RuntimeError("DENTALCARE_SECRET_KEY must be set when DENTALCARE_ENV=production")
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        path.write_text(value)
        path.chmod(0o600)
        return value

    def check(self) -> None:
        """Fail fast on a configuration that must not start (e.g. production without a
        secret, or with session cookies that would travel over plain HTTP)."""
        _ = self.jwt_secret
        if self.env == "production" and not self.cookie_secure:
            raise RuntimeError(
                "DENTALCARE_COOKIE_SECURE must be true when DENTALCARE_ENV=production "
                "(serve behind HTTPS)"
            )
        if self.env == "production" and self.email_enabled and self.smtp_url is None:
            raise RuntimeError(
                "DENTALCARE_SMTP_URL must be set when DENTALCARE_ENV=production "
                "(or DENTALCARE_EMAIL_ENABLED=false to send no e-mail at all)"
            )

    @property
    def app_password(self) -> str | None:
        """The service role's password, if one is configured."""
        return self.app_db_password.get_secret_value() if self.app_db_password else None
