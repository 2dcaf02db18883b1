"""The model registry: logged models in runs, registered models, versions, aliases and stages.

The rules live here (version numbers increase per name and are never reused, an alias points at
one version, at most one version is in Production under the default policy, every registration
records its lineage); the SDK, CLI and server call these services and only translate.
"""

from typing import TYPE_CHECKING

from modelyard._lazy import lazy_exports

if TYPE_CHECKING:
    from modelyard.registry.aliases import AliasService as AliasService
    from modelyard.registry.logged_models import LoggedModelService as LoggedModelService
    from modelyard.registry.models import RegisteredModelService as RegisteredModelService
    from modelyard.registry.resolve import ModelResolver as ModelResolver
    from modelyard.registry.resolve import ResolvedModel as ResolvedModel
    from modelyard.registry.stages import StageService as StageService
    from modelyard.registry.uploads import ModelUploadService as ModelUploadService
    from modelyard.registry.versions import ModelVersionService as ModelVersionService
    from modelyard.registry.versions import version_ref as version_ref

__getattr__ = lazy_exports(__name__, __file__)
del TYPE_CHECKING, lazy_exports  # import plumbing, not part of the package's surface

__all__ = [
    "AliasService",
    "LoggedModelService",
    "ModelResolver",
    "ModelUploadService",
    "ModelVersionService",
    "RegisteredModelService",
    "ResolvedModel",
    "StageService",
    "version_ref",
]
