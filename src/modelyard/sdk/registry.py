"""``ModelRegistry``: the registry half of the SDK, with ``MlflowClient``'s method names.

Reached as ``Client().registry``. Every method is one call to a registry service; the rules
(numbering, aliases, the single Production version) live in ``modelyard.registry``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from modelyard.domain.models import ModelSignature
from modelyard.domain.registry import LoggedModel, ModelStage, ModelVersion, RegisteredModel
from modelyard.sdk.backends.local import LocalBackend

if TYPE_CHECKING:  # the model stack (pandas) loads with the first model, not with every client
    from modelyard.models import InputExample, Predictor


class ModelRegistry:
    """Logged models, registered models, versions, aliases and stages on one backend."""

    def __init__(self, backend: LocalBackend) -> None:
        self._backend = backend

    # -- logged models ---------------------------------------------------------------------------

    def log_model(
        self,
        run_id: str,
        model: object,
        name: str = "model",
        *,
        input_example: InputExample | None = None,
        signature: ModelSignature | None = None,
        flavor: str | None = None,
        requirements: Sequence[str] | None = None,
        registered_model_name: str | None = None,
    ) -> LoggedModel:
        """Save ``model`` into the run at ``runs:/<run_id>/<name>``; register it too when a name is given."""
        logged = self._backend.logged_models.log(
            run_id,
            model,
            name,
            input_example=input_example,
            signature=signature,
            flavor=flavor,
            requirements=requirements,
        )
        if registered_model_name is not None:
            self.register_model(logged.uri, registered_model_name)
        return logged

    def get_logged_model(self, model_id: str) -> LoggedModel:
        return self._backend.logged_models.get(model_id)

    def load_model(self, model_uri: str | os.PathLike[str], *, trusted: bool = False) -> Predictor:
        """Load ``runs:/…``, ``models:/name/N``, ``models:/name@alias`` or a local model directory.

        Loading unpickles the model's files, which runs code: a directory this store never recorded
        (a local folder, plain run artifacts) is refused unless ``trusted=True``.
        """
        return self._backend.model_resolver.load(model_uri, trusted=trusted)

    # -- registered models -----------------------------------------------------------------------

    def create_registered_model(
        self, name: str, tags: Mapping[str, Any] | None = None, description: str | None = None
    ) -> RegisteredModel:
        return self._backend.registered_models.create(name, description=description, tags=tags)

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self._backend.registered_models.get(name)

    def search_registered_models(
        self, filter_string: str | None = None, max_results: int = 1000, offset: int = 0
    ) -> list[RegisteredModel]:
        return self._backend.registered_models.search(filter_string, max_results=max_results, offset=offset)

    def update_registered_model(self, name: str, description: str) -> RegisteredModel:
        return self._backend.registered_models.update(name, description=description)

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        self._backend.registered_models.set_tag(name, key, value)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self._backend.registered_models.delete_tag(name, key)

    def delete_registered_model(self, name: str) -> None:
        self._backend.registered_models.delete(name)

    # -- versions --------------------------------------------------------------------------------

    def register_model(
        self, model_uri: str, name: str, tags: Mapping[str, Any] | None = None, description: str | None = None
    ) -> ModelVersion:
        """Register ``model_uri`` as the next version of ``name``, creating the model if needed."""
        return self._backend.model_versions.create(
            name, model_uri, description=description, tags=tags, create_model=True
        )

    def create_model_version(
        self, name: str, source: str, tags: Mapping[str, Any] | None = None, description: str | None = None
    ) -> ModelVersion:
        """Add a version to an existing registered model (``NotFound`` if there is none)."""
        return self._backend.model_versions.create(name, source, description=description, tags=tags)

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        return self._backend.model_versions.get(name, version)

    def search_model_versions(
        self, filter_string: str | None = None, max_results: int = 1000, offset: int = 0
    ) -> list[ModelVersion]:
        return self._backend.model_versions.search(filter_string, max_results=max_results, offset=offset)

    def update_model_version(self, name: str, version: int | str, description: str) -> ModelVersion:
        return self._backend.model_versions.update(name, version, description=description)

    def set_model_version_tag(self, name: str, version: int | str, key: str, value: Any) -> None:
        self._backend.model_versions.set_tag(name, version, key, value)

    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        self._backend.model_versions.delete_tag(name, version, key)

    def delete_model_version(self, name: str, version: int | str) -> None:
        self._backend.model_versions.delete(name, version)

    def transition_model_version_stage(
        self, name: str, version: int | str, stage: ModelStage | str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        return self._backend.stages.transition(
            name, version, stage, archive_existing_versions=archive_existing_versions
        )

    # -- aliases ---------------------------------------------------------------------------------

    def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None:
        self._backend.aliases.set(name, alias, version)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self._backend.aliases.delete(name, alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return self._backend.aliases.get_version(name, alias)
