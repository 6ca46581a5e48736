"""One settings class, read from the environment (and a `.env` file if present)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # The embedded default: a SQLite file under the working folder, so `make run`
    # works on a bare machine. Production sets a postgresql+psycopg:// URL.
    database_url: str = Field(
        default_factory=lambda: f"sqlite:///{Path.cwd() / 'data' / 'demarche.db'}"
    )
    # SQLite only: how many seconds a request waits for the write lock before it
    # answers 503 with Retry-After (app/db.py).
    database_busy_timeout: float = Field(default=5.0, gt=0, le=60)
    log_level: str = "INFO"
    host: str = "127.0.0.1"
    port: int = 8000

    default_page_size: int = Field(default=50, ge=1)
    max_page_size: int = Field(default=200, ge=1)
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    # A FLASH or NIACT IMMEDIATE tasking not acknowledged within this window is flagged.
    urgent_ack_hours: float = Field(default=2.0, gt=0)
    max_cable_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    # How long a worker may answer "who is this?" for a token or cookie from memory.
    # A revocation made through another worker takes effect within this many seconds;
    # 0 asks the database on every request (app/auth/credentials.py).
    credential_cache_seconds: float = Field(default=5.0, ge=0)
    # The proxies whose X-Forwarded-For and X-Forwarded-Proto are believed: a comma-
    # separated list of addresses or networks ("10.0.0.5,10.1.0.0/16", or "*"), as
    # uvicorn spells it. Empty (the default) trusts no proxy: the client is the peer,
    # so nobody on this machine or elsewhere picks the address the sign-in limit counts.
    forwarded_allow_ips: str = ""
    # `demarche serve` (app/serving.py). A connection idle this long is closed, before
    # its first request too; a request's head must be complete within
    # HEADER_TIMEOUT_SECONDS however slowly it trickles in. On SIGTERM the requests in
    # flight get GRACEFUL_SHUTDOWN_SECONDS to finish, then are cancelled: keep it below
    # the supervisor's kill timeout (docker stop waits 10 s). LIMIT_CONCURRENCY caps the
    # connections and requests of a worker at once (uvicorn answers 503 past it); unset,
    # only the file descriptors do.
    keep_alive_seconds: int = Field(default=5, ge=1)
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    graceful_shutdown_seconds: int = Field(default=8, ge=0)
    limit_concurrency: int | None = Field(default=None, ge=1)
    # /metrics (app/observability.py) answers only a peer in METRICS_ALLOW_IPS (addresses
    # or networks, comma-separated; the peer as FORWARDED_ALLOW_IPS resolves it; empty:
    # none) or a request carrying `Authorization: Bearer <METRICS_TOKEN>`; anyone else gets
    # the 404 of a path that does not exist. PROMETHEUS_MULTIPROC_DIR: a folder the
    # processes of one `demarche serve --workers N` share their counts through (emptied
    # by `demarche serve` at start; app/metrics.py).
    metrics_allow_ips: str = "127.0.0.1,::1"
    metrics_token: SecretStr | None = None
    prometheus_multiproc_dir: str | None = None
    # Notifications by email (app/notifications): the SMTP server the worker hands them
    # to. SMTP_HOST unset: email is off, and the worker only keeps the in-app ones.
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = "demarche-tracker@localhost"
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    # The address a message's link starts with (the tracker as its readers reach it).
    public_url: str = "http://127.0.0.1:8000"
    # A message that fails this many times is dead (its last error kept); the n-th retry
    # waits EMAIL_RETRY_SECONDS * 2**(n-1).
    email_max_attempts: int = Field(default=6, ge=1)
    email_retry_seconds: float = Field(default=30.0, gt=0)
    # The worker's reminders: a tasking due within this many days, once a day.
    due_soon_days: int = Field(default=2, ge=0)
    worker_poll_seconds: float = Field(default=5.0, gt=0)

    @field_validator("metrics_token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value() and len(value.get_secret_value()) < 16:
            raise ValueError("METRICS_TOKEN must be at least 16 characters (or unset)")
        return value or None


@lru_cache
def get_settings() -> Settings:
    return Settings()
