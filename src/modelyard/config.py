"""Settings: the only code that reads ``MODELYARD_*`` variables and the config file.

One ``Settings`` is built at the edge (the CLI, the server factory, the SDK's first call) and
passed down; nothing else looks at ``os.environ``. Precedence, highest first: explicit keyword
arguments, environment variables, ``$MODELYARD_HOME/config.toml``, defaults.
"""

from __future__ import annotations

import getpass
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from modelyard.errors import InvalidInput

ENV_PREFIX = "MODELYARD_"

# Settings field -> environment variable; the config file uses the field names.
_ENV_NAMES: dict[str, str] = {
    "home": "MODELYARD_HOME",
    "store_uri": "MODELYARD_STORE_URI",
    "artifact_uri": "MODELYARD_ARTIFACT_URI",
    "tracking_uri": "MODELYARD_TRACKING_URI",
    "token": "MODELYARD_TOKEN",
    "user": "MODELYARD_USER",
    "heartbeat_interval_s": "MODELYARD_HEARTBEAT_INTERVAL",
    "heartbeat_timeout_s": "MODELYARD_HEARTBEAT_TIMEOUT",
    "metric_batch_size": "MODELYARD_METRIC_BATCH_SIZE",
    "metric_flush_interval_s": "MODELYARD_METRIC_FLUSH_INTERVAL",
    "capture_environment": "MODELYARD_CAPTURE_ENVIRONMENT",
    "s3_endpoint_url": "MODELYARD_S3_ENDPOINT_URL",
    "inference_log_sample": "MODELYARD_INFERENCE_LOG_SAMPLE",
    "inference_log_flush_interval_s": "MODELYARD_INFERENCE_LOG_FLUSH_INTERVAL",
    "ray_address": "MODELYARD_RAY_ADDRESS",
    "online_store_uri": "MODELYARD_ONLINE_STORE_URI",
    "audit_key": "MODELYARD_AUDIT_KEY",
}


def _default_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "unknown"


def _describe(error: Any) -> str:
    """One pydantic error as ``VARIABLE: message``; model-wide rules carry no field."""
    if not error["loc"]:
        return str(error["msg"]).removeprefix("Value error, ")
    field = str(error["loc"][0])
    return f"{_ENV_NAMES.get(field, field)}: {error['msg']}"


class Settings(BaseModel):
    """Where modelyard keeps things and how the SDK behaves; immutable once built."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    home: Path = Field(default_factory=lambda: Path.home() / ".modelyard")
    store_uri: str = ""
    artifact_uri: str = ""
    tracking_uri: str | None = None  # http(s)://… sends every SDK and CLI call to a modelyard server
    token: str | None = Field(default=None, repr=False)  # the server's API token (MODELYARD_TOKEN)
    user: str = Field(default_factory=_default_user)
    heartbeat_interval_s: float = Field(default=10.0, gt=0)
    heartbeat_timeout_s: float = Field(default=120.0, gt=0)
    metric_batch_size: int = Field(default=1000, ge=1, le=100_000)
    metric_flush_interval_s: float = Field(default=1.0, gt=0)
    capture_environment: bool = True
    s3_endpoint_url: str | None = None
    inference_log_sample: float = Field(default=1.0, ge=0, le=1)  # share of served requests logged; 0 = off
    inference_log_flush_interval_s: float = Field(default=1.0, gt=0)  # what a killed server can lose
    ray_address: str | None = None  # the Ray cluster of executor="ray"; None starts a local instance
    online_store_uri: str = ""  # feature store's online store: sqlite:///path (default under home) or redis://...
    audit_key: str | None = Field(default=None, repr=False)  # HMAC key of the audit checkpoints, never stored

    @field_validator("store_uri")
    @classmethod
    def _normalise_store_uri(cls, value: str) -> str:
        # Users paste the URL psql takes; SQLAlchemy needs the driver named.
        for bare in ("postgresql://", "postgres://"):
            if value.startswith(bare):
                return "postgresql+psycopg://" + value[len(bare) :]
        return value

    @model_validator(mode="after")
    def _timeout_outlasts_interval(self) -> Settings:
        # A timeout no longer than the beat would have every new process mark live runs KILLED.
        if self.heartbeat_timeout_s <= self.heartbeat_interval_s:
            raise ValueError(
                f"MODELYARD_HEARTBEAT_TIMEOUT ({self.heartbeat_timeout_s:g}s) must be longer than "
                f"MODELYARD_HEARTBEAT_INTERVAL ({self.heartbeat_interval_s:g}s), or live runs would be marked KILLED"
            )
        return self

    def model_post_init(self, __context: Any) -> None:
        home = self.home.expanduser()
        object.__setattr__(self, "home", home)
        if not self.store_uri:
            object.__setattr__(self, "store_uri", f"sqlite:///{home / 'modelyard.db'}")
        if not self.artifact_uri:
            object.__setattr__(self, "artifact_uri", str(home / "artifacts"))
        if not self.online_store_uri:
            object.__setattr__(self, "online_store_uri", f"sqlite:///{home / 'online.db'}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from the environment (and the config file in the home it names)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        home = Path(overrides.get("home") or env.get("MODELYARD_HOME") or Path.home() / ".modelyard")
        config_file = home.expanduser() / "config.toml"
        if config_file.is_file():
            try:
                values.update(tomllib.loads(config_file.read_text()))
            except tomllib.TOMLDecodeError as exc:
                raise InvalidInput(f"{config_file} is not valid TOML: {exc}") from exc
        for field, name in _ENV_NAMES.items():
            if env.get(name):
                values[field] = env[name]
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls(**values)
        except ValidationError as exc:
            problems = "; ".join(_describe(err) for err in exc.errors())
            raise InvalidInput(f"invalid configuration: {problems}") from exc

    def artifact_storage_options(self) -> dict[str, Any]:
        """fsspec options for the artifact store: an S3-compatible endpoint (MinIO, a test server)
        for ``s3://`` URIs; credentials stay with the usual AWS variables and files."""
        if self.s3_endpoint_url and self.artifact_uri.startswith(("s3://", "s3a://")):
            return {"client_kwargs": {"endpoint_url": self.s3_endpoint_url}}
        return {}

    @property
    def is_remote(self) -> bool:
        """Whether calls go to a modelyard server (``MODELYARD_TRACKING_URI=http(s)://…``)."""
        return bool(self.tracking_uri) and str(self.tracking_uri).startswith(("http://", "https://"))

    @property
    def is_sqlite(self) -> bool:
        return self.store_uri.startswith("sqlite")
