"""One settings object, read from the environment (prefix FABU_)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FABU_", env_file=".env", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./fabu.db"
    host: str = "127.0.0.1"
    port: int = 8000
    # Public base URL, used for links in rendered releases and feeds.
    public_url: str = "http://127.0.0.1:8000"
    max_body_bytes: int = 1024 * 1024
    # An occurred_at this far in the future is a typo or a wrong clock, not a report.
    future_tolerance_seconds: int = 300

    scheduler_enabled: bool = True
    # How long a scheduler lease lives without renewal before another instance takes over.
    scheduler_lease_seconds: float = 15.0
    scheduler_safety_net_seconds: float = 30.0
    # /readyz fails when the scheduler has not ticked for this long.
    scheduler_stale_seconds: float = 90.0
    # Timers fired per transaction (SQLite holds its one write lock that long).
    scheduler_batch_size: int = 200
    # A timer fired more than this after its moment is reported as late.
    scheduler_late_after_seconds: float = 1.0

    delivery_enabled: bool = True
    # Fernet keys (comma-separated, the first seals) for webhook secrets at rest; see
    # app.secretbox. `fabu secret-key` prints a new one.
    secret_keys: SecretStr | None = None
    # Delivered webhook deliveries and their attempt log are deleted this many days after
    # delivery (0: kept for good). Pending and dead-lettered ones are always kept.
    delivery_retention_days: int = 90
    # Webhook URLs on private, loopback and link-local addresses are refused unless allowed.
    allow_private_webhooks: bool = False

    ws_ping_seconds: float = 20.0
    ws_queue_limit: int = 1000
    # After a commit the hub waits this long before reading the log, so that a burst of
    # commits goes out to each client as one wake-up (and one message on fabu.live.batch).
    ws_coalesce_seconds: float = 0.02

    # How long a looked-up token is trusted without asking the database again. A revocation
    # through this process takes effect at once; one through another instance within this.
    token_cache_seconds: float = 2.0

    # RULES §3 windows that differ from the defaults, e.g.
    # FABU_OBLIGATION_WINDOWS='{"follow_up_after_publication": 14400}' (seconds; day counts
    # as integers); see app.rules.obligations.windows_from_config.
    obligation_windows: dict[str, float | int | list[float]] = {}

    log_level: str = "info"
    # bench/: mounts POST /api/v1/_noop, the baseline a benchmark measures against.
    bench_noop: bool = False


@lru_cache
def get_settings() -> Settings:
    return Settings()
