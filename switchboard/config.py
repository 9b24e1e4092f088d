"""Settings from the environment (and a `.env` file): the one place configuration lives."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

CommaList = Annotated[list[str], NoDecode]


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    switchboard_env: Environment = Environment.DEVELOPMENT
    database_url: str = "sqlite+aiosqlite:///./switchboard.db"
    redis_url: str | None = None

    jwt_secret: str | None = None
    jwt_secret_file: Path = Path(".switchboard-secret")
    access_token_ttl_seconds: int = Field(default=86400, gt=0)

    ring_timeout_seconds: float = Field(default=45, gt=0)
    call_grace_seconds: float = Field(default=30, gt=0)
    max_call_seconds: float = Field(default=14400, gt=0)
    # How often the sweeper looks for overdue calls and lost connections at most.
    sweep_interval_seconds: float = Field(default=1.0, gt=0)

    allowed_origins: CommaList = []
    stun_uris: CommaList = []
    turn_uris: CommaList = []
    turn_secret: str | None = None
    turn_ttl_seconds: int = Field(default=86400, gt=0)

    log_format: Literal["json", "text"] = "json"
    log_level: str = "info"

    # Several instances: how long a connection counts as live in Redis without a refresh.
    liveness_ttl_seconds: float = Field(default=15, gt=0)

    # WebSocket gateway
    ws_heartbeat_seconds: float = Field(default=20, gt=0)
    ws_frame_rate_per_second: float = Field(default=50, gt=0)
    ws_frame_burst: int = Field(default=100, gt=0)

    # Rate limits (fixed windows; shared by every instance through Redis when REDIS_URL is
    # set). A request past a limit is 429 `rate_limited` with `Retry-After`.
    login_attempts_per_username: int = Field(default=10, gt=0)
    login_attempts_per_address: int = Field(default=60, gt=0)
    login_window_seconds: float = Field(default=300, gt=0)
    registrations_per_address: int = Field(default=20, gt=0)
    registration_window_seconds: float = Field(default=3600, gt=0)
    call_initiations_per_user: int = Field(default=20, gt=0)
    call_initiation_window_seconds: float = Field(default=60, gt=0)
    # WebSocket connections a user may open per window, and hold at once (devices, per instance).
    ws_connections_per_user: int = Field(default=30, gt=0)
    ws_connection_window_seconds: float = Field(default=60, gt=0)
    ws_max_connections_per_user: int = Field(default=10, gt=0)

    @field_validator("allowed_origins", "stun_uris", "turn_uris", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @property
    def is_production(self) -> bool:
        return self.switchboard_env is Environment.PRODUCTION

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
