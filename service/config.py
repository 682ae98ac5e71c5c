"""Service settings from the environment (prefix ``BAYESCALE_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything configurable; defaults give the embedded mode (SQLite, in-process workers)."""

    model_config = SettingsConfigDict(
        env_prefix="BAYESCALE_", env_ignore_empty=True, extra="ignore"
    )

    data_dir: Path = Path("bayescale-data")
    database_url: str | None = None  # default: SQLite file in data_dir
    redis_url: str | None = None  # set: fits go to Dramatiq workers; unset: in-process pool
    redis_namespace: str = "bayescale"  # Redis key prefix (several deployments, one Redis)
    workers: int = Field(1, ge=0, le=64)  # in-process fit workers (embedded mode)

    # limits a request may not exceed (sampler requests are validated against them)
    max_draws: int = Field(4000, ge=10)
    max_tune: int = Field(4000, ge=0)
    max_chains: int = Field(8, ge=1)
    max_batch_rows: int = Field(10_000, ge=1)
    max_body_bytes: int = Field(10 * 1024 * 1024, ge=1024)  # every route, checked before parsing
    # requests handled at once per API process (each holds a pooled database connection and a
    # worker thread); more wait in line, and one waiting longer than max_queue_wait_s gets 503
    max_concurrent_requests: int = Field(32, ge=1, le=256)
    max_queue_wait_s: float = Field(60.0, gt=0)
    max_predict_points: int = Field(10_000, ge=1)
    # loaded posteriors kept per API process for prediction, planning and plots
    fit_cache_size: int = Field(32, ge=1)
    fit_time_limit_s: float = Field(1800.0, gt=0)
    # requests a minute per API key (token bucket per API process); 0 turns the limit off
    rate_limit_per_minute: int = Field(3000, ge=0)
    # a running fit whose worker has not written a heartbeat for this long is picked up again
    fit_lease_s: float = Field(60.0, gt=0)
    # Dramatiq mode: a queued fit nobody took within this long gets its message sent again
    fit_resend_s: float = Field(300.0, gt=0)
    # a dashboard login lasts this long (server-side session; logout or key revocation end it)
    session_ttl_s: float = Field(12 * 3600.0, gt=0)
    # set: `POST /v1/projects` with `Authorization: Bearer <admin token>` creates projects
    admin_token: SecretStr | None = None

    @property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL in use."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'bayescale.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    """Settings read once per process (tests override through FastAPI dependencies)."""
    return Settings()
