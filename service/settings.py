"""Service settings: one pydantic-settings class; every field is a ``sparsewire serve`` flag and an
environment variable ``SPARSEWIRE_<NAME>`` (``REDIS_URL`` is also read without the prefix)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROLES = ("read", "write", "admin")


def default_data_dir() -> Path:
    """``$XDG_STATE_HOME/sparsewire`` (default ``~/.local/state/sparsewire``)."""
    import os  # noqa: PLC0415

    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "sparsewire"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SPARSEWIRE_", env_ignore_empty=True, extra="ignore")

    host: str = Field("127.0.0.1", description="address to bind")
    port: int = Field(8000, ge=0, le=65535, description="port to bind (0: any free port)")
    redis_url: str | None = Field(
        None, validation_alias=AliasChoices("SPARSEWIRE_REDIS_URL", "REDIS_URL", "redis_url"),
        description="Redis to use; when unset an embedded redis-server is started in --data-dir")
    data_dir: Path = Field(default_factory=default_data_dir, description="directory of the embedded Redis (AOF)")
    durability: Literal["strict", "relaxed"] = Field(
        "strict", description="strict: acknowledge only after the AOF is fsynced (WAITAOF or appendfsync always)")
    tokens: str = Field("", description="bearer tokens with roles, 'TOKEN:ROLE,...' (roles: read, write, admin)")
    allowed_origins: str = Field("", description="browser origins besides the service's own allowed to write and "
                                 "open websockets, 'https://a.example,http://localhost:3000' (others get 403)")
    backend: Literal["auto", "cpu", "cuda"] = Field("auto", description="walk backend")
    max_body_bytes: int = Field(512 * 2**20, ge=1024, description="largest accepted request body (bytes)")
    max_ops_per_batch: int = Field(200_000, ge=1, description="most operations in one update batch")
    max_graph_edges: int = Field(50_000_000, ge=1, description="most edges a stored graph may hold")
    max_import_bytes: int = Field(2 * 2**30, ge=1024, description="largest decompressed graph file (bytes)")
    max_graph_nodes: int = Field(
        20_000_000, ge=1, le=2**31 - 2, description="most vertices a stored graph may grow to (node ids of int graphs "
        "must be below it, after subtracting the graph's id base)")
    max_quality_nodes: int = Field(5_000_000, ge=1, description="largest graph for which /quality computes kappa")
    snapshot_every_ops: int = Field(500_000, ge=1, description="write a new snapshot after this many operations")
    log_retention: int = Field(10_000, ge=1, description="delta-log entries kept for subscribers to resume from")
    idempotency_ttl_seconds: int = Field(86_400, ge=1, description="how long Idempotency-Key replies are kept")
    heartbeat_seconds: float = Field(15.0, gt=0, description="websocket heartbeat interval when idle")
    subscriber_send_timeout_seconds: float = Field(
        30.0, gt=0, description="a subscriber that does not take a message within this time is disconnected")
    socket_send_buffer_bytes: int = Field(
        128 * 1024, ge=4096, description="kernel send buffer of client connections (bounds what a stalled websocket "
        "peer can hold before it is cut off as too slow)")
    log_level: str = Field("info", description="uvicorn log level")

    @field_validator("tokens")
    @classmethod
    def _check_tokens(cls, value: str) -> str:
        for item in filter(None, (t.strip() for t in value.split(","))):
            token, _, role = item.partition(":")
            if not token or role not in ROLES:
                raise ValueError(f"bad token entry {item!r}: expected TOKEN:ROLE with ROLE in {ROLES}")
        return value

    @model_validator(mode="after")
    def _refuse_open_bind(self) -> Settings:
        if not self.token_roles() and self.host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"refusing to bind {self.host} without tokens: set SPARSEWIRE_TOKENS or bind 127.0.0.1")
        return self

    def token_roles(self) -> dict[str, str]:
        """``{token: role}``."""
        out: dict[str, str] = {}
        for item in filter(None, (t.strip() for t in self.tokens.split(","))):
            token, _, role = item.partition(":")
            out[token] = role
        return out
