"""Model registry records: logged models, registered models, their versions, aliases and stages.

A *logged model* is a model directory saved among a run's artifacts; it is immutable and known
by its id and content digest. A *registered model* is a name users and deployments refer to; each
*model version* under it points at exactly one logged model. Aliases (``champion``) and the
lifecycle stage are the mutable parts, changed only through the registry services.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from modelyard.domain.models import ModelSignature
from modelyard.errors import InvalidInput


class ModelStage(enum.StrEnum):
    """A version's lifecycle status; spelled as MLflow spells its (deprecated) stages."""

    NONE = "None"
    STAGING = "Staging"
    PRODUCTION = "Production"
    ARCHIVED = "Archived"

    @classmethod
    def parse(cls, value: ModelStage | str) -> ModelStage:
        """Accept any case (``production``, ``PRODUCTION``) so CLIs and REST bodies agree."""
        if isinstance(value, ModelStage):
            return value
        for stage in cls:
            if stage.value.lower() == str(value).strip().lower():
                return stage
        known = ", ".join(s.value for s in cls)
        raise InvalidInput(f"unknown stage {value!r}; use one of {known}")


@dataclass(frozen=True, kw_only=True)
class StagePolicy:
    """Rules for stage transitions; ``exclusive_production`` allows one Production version per model."""

    exclusive_production: bool = True


@dataclass(frozen=True, kw_only=True)
class LoggedModel:
    """A model directory stored below a run's artifacts, as lineage and loading need it.

    ``storage_uri`` is the directory itself (the run's artifact URI joined with ``artifact_path``);
    ``digest`` is the manifest's content digest, checked on every load.
    """

    model_id: str
    run_id: str
    artifact_path: str
    storage_uri: str
    flavor: str
    digest: str
    created_time: int
    signature: ModelSignature | None = None

    @property
    def uri(self) -> str:
        """``runs:/<run_id>/<artifact_path>``: how users name it."""
        return f"runs:/{self.run_id}/{self.artifact_path}"


@dataclass(frozen=True, kw_only=True)
class RegisteredModel:
    """A named model: its description, tags, aliases (alias -> version) and newest version."""

    name: str
    creation_time: int
    last_updated_time: int
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    latest_version: int | None = None


@dataclass(frozen=True, kw_only=True)
class ModelVersion:
    """Version ``version`` of ``name``: one logged model, with its own stage, tags and aliases."""

    name: str
    version: int
    source: str
    run_id: str
    model_id: str
    storage_uri: str
    flavor: str
    digest: str
    stage: ModelStage
    creation_time: int
    last_updated_time: int
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()

    @property
    def uri(self) -> str:
        """``models:/<name>/<version>``."""
        return f"models:/{self.name}/{self.version}"

    @property
    def current_stage(self) -> str:
        """MLflow's name for ``stage``."""
        return self.stage.value
