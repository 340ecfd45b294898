"""Settings of every process (worker, API, scripts), read from XIGUA_* environment variables.

Built lazily by `get_settings()`, never at import time, so tests and scripts can set the
environment first. Durations accept seconds or ISO 8601 (`PT24H`), so a demo or staging system
can run a whole order in minutes (rule B4).
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.prereview import Mode
from workflows.bounds import MAX_REVISION_ROUNDS
from workflows.messages import Timings

PROJECT_ROOT = Path(__file__).resolve().parent
DATA_DIR = PROJECT_ROOT / ".data"


def _seconds_or_iso(value: Any) -> Any:
    # "30" in the environment means 30 seconds; anything else goes to pydantic (PT24H, ...).
    return int(value) if isinstance(value, str) and value.strip().isdigit() else value


Duration = Annotated[timedelta, BeforeValidator(_seconds_or_iso)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XIGUA_", extra="ignore")

    database_url: str = f"sqlite:///{DATA_DIR / 'app.db'}"
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "xigua-orders"

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # Keys the stored hashes of API tokens. The default is for local use only.
    token_secret: str = "xigua-local-development-secret"
    token_ttl: Duration = timedelta(hours=24)
    # Seconds an API request waits on Temporal before answering 503.
    temporal_rpc_timeout: Duration = timedelta(seconds=15)
    # Rule C2's thresholds for opening the task.
    min_fans: int = Field(default=10_000, ge=0)
    min_avg_plays: int = Field(default=1_000, ge=0)
    recent_videos: int = Field(default=20, ge=1)
    # Mount the routes that drive the local video-platform simulator (tests, demos, staging).
    simulator_routes: bool = True

    # host:port where the worker serves the Temporal SDK's Prometheus metrics; off if empty.
    worker_metrics_address: str = ""
    # host:port where `python -m api` serves the API's request metrics; off if empty. Never
    # the API's own port: the metrics are for Prometheus, not for the API's public.
    api_metrics_address: str = Field(default="", pattern=r"^(|.+:[0-9]{1,5})$")

    # What a script upload with wording of the ad-law term list gets (B2): `warn` (accepted,
    # its answer shows the matches) or `refuse` (422, the order does not hear of it).
    prereview_mode: Mode = Mode.WARN

    # The platform's service fee, in basis points of the price, paid by the client on top.
    service_fee_bps: int = Field(default=500, ge=0, le=10_000)
    default_retention_days: int = Field(default=30, ge=30)

    # Every duration of an order (B4, D2, D3), copied into the order at placement.
    accept_window: Duration = timedelta(hours=24)
    auto_accept_after: Duration = timedelta(days=7)
    retention_day: Duration = timedelta(days=1)
    video_check_every: Duration = timedelta(days=1)
    script_due_after: Duration = timedelta(days=3)
    video_due_after: Duration = timedelta(days=7)
    overdue_grace: Duration = timedelta(days=7)
    review_within: Duration = timedelta(hours=24)
    client_confirm_within: Duration = timedelta(days=3)
    publish_within: Duration = timedelta(days=3)
    accept_reminder_before: Duration = timedelta(hours=2)
    reminder_before_long: Duration = timedelta(hours=24)
    reminder_before_short: Duration = timedelta(hours=2)
    long_deadline: Duration = timedelta(days=2)
    min_creator_time: Duration = timedelta(days=1)
    max_due_ahead: Duration = timedelta(days=365)
    proposal_lapses_after: Duration = timedelta(hours=48)
    dispute_escalates_after: Duration = timedelta(days=3)

    # Revision rounds (X2): how many scripts and videos a client may reject, unless the order
    # chooses another number within the bounds.
    revision_rounds: int = Field(default=3, ge=0, le=MAX_REVISION_ROUNDS)
    min_revision_rounds: int = Field(default=1, ge=0, le=MAX_REVISION_ROUNDS)
    max_revision_rounds: int = Field(default=10, ge=0, le=MAX_REVISION_ROUNDS)

    @model_validator(mode="after")
    def _revision_bounds_hold_the_default(self) -> Settings:
        if not self.min_revision_rounds <= self.revision_rounds <= self.max_revision_rounds:
            raise ValueError("revision_rounds must lie within min_revision_rounds..max")
        return self

    # Notifications (N1-N3): the relay (`python relay.py`, started by `make run`).
    relay_poll_every: Duration = timedelta(seconds=1)
    relay_lease: Duration = timedelta(seconds=60)
    relay_batch: int = Field(default=50, ge=1, le=1000)
    relay_concurrency: int = Field(default=8, ge=1, le=256)
    # A file the relay touches on every round, for a health check to read its age; off if empty.
    relay_heartbeat_file: str = ""
    # A failed delivery is retried after a delay drawn from [0, min(cap, first x 2^(n-1))]
    # (exponential backoff, full jitter) until give_up_after from its first try.
    delivery_retry_first: Duration = timedelta(seconds=30)
    delivery_retry_cap: Duration = timedelta(hours=1)
    delivery_give_up_after: Duration = timedelta(hours=24)
    # E-mail: the SMTP server every notification e-mail goes to (`make run` starts a local one
    # on this address that keeps what it receives in .data/mail/).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=8025, ge=1, le=65535)
    smtp_sender: str = "xigua-tasks <notifications@xigua-tasks.local>"
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout: Duration = timedelta(seconds=10)
    # Webhooks (N2): plain http to a loopback address is for development: turn it off in
    # production, where a loopback address is the relay's own machine.
    webhook_allow_loopback_http: bool = True
    webhook_timeout: Duration = timedelta(seconds=10)
    webhook_max_per_client: int = Field(default=10, ge=1, le=100)

    def timings(self) -> Timings:
        return Timings(**{name: getattr(self, name) for name in Timings.model_fields})


@lru_cache
def get_settings() -> Settings:
    return Settings()
