"""Governance records: who acts (users, tokens, roles), what they may do, the audit trail and the
four-eyes approvals. Plain frozen values; the rules live in ``modelyard.governance``.

Roles are ordered (viewer < contributor < approver < admin) and each grants every permission of
the roles below it, so a binding is one row and a check is one comparison.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from modelyard.errors import InvalidInput


class Role(enum.IntEnum):
    """What a user may do; a higher role includes every lower one."""

    VIEWER = 1
    CONTRIBUTOR = 2
    APPROVER = 3
    ADMIN = 4

    @classmethod
    def parse(cls, value: Role | str) -> Role:
        if isinstance(value, Role):
            return value
        try:
            return cls[str(value).strip().upper()]
        except KeyError:
            names = ", ".join(r.name.lower() for r in cls)
            raise InvalidInput(f"unknown role {value!r}; use one of {names}") from None

    @property
    def label(self) -> str:
        return self.name.lower()


class Permission(enum.StrEnum):
    """A named capability; ``PERMISSION_ROLES`` says which role first grants it."""

    READ = "read"
    TRACK = "track"  # experiments, runs, params, metrics, datasets
    REGISTER = "register"  # registered models, versions, tags
    TRANSITION = "transition"  # request a stage change or a protected alias
    APPROVE = "approve"  # approve or reject a request
    DEPLOY = "deploy"
    MANAGE = "manage"  # users, roles, tokens of others, policies


PERMISSION_ROLES: dict[Permission, Role] = {
    Permission.READ: Role.VIEWER,
    Permission.TRACK: Role.CONTRIBUTOR,
    Permission.REGISTER: Role.CONTRIBUTOR,
    Permission.TRANSITION: Role.CONTRIBUTOR,
    Permission.DEPLOY: Role.CONTRIBUTOR,
    Permission.APPROVE: Role.APPROVER,
    Permission.MANAGE: Role.ADMIN,
}


class ScopeKind(enum.StrEnum):
    GLOBAL = "global"
    EXPERIMENT = "experiment"
    REGISTERED_MODEL = "registered_model"
    DEPLOYMENT = "deployment"


@dataclass(frozen=True, kw_only=True)
class Scope:
    """Where a binding applies or a permission is asked for; ``Scope.GLOBAL`` covers everything."""

    kind: ScopeKind = ScopeKind.GLOBAL
    id: str = ""

    def __str__(self) -> str:
        return "global" if self.kind is ScopeKind.GLOBAL else f"{self.kind.value} {self.id!r}"

    @classmethod
    def model(cls, name: str) -> Scope:
        return cls(kind=ScopeKind.REGISTERED_MODEL, id=name)

    @classmethod
    def experiment(cls, experiment_id: str) -> Scope:
        return cls(kind=ScopeKind.EXPERIMENT, id=str(experiment_id))

    @classmethod
    def deployment(cls, name: str) -> Scope:
        return cls(kind=ScopeKind.DEPLOYMENT, id=name)


GLOBAL_SCOPE = Scope()


@dataclass(frozen=True, kw_only=True)
class User:
    name: str
    created_ms: int
    disabled: bool = False


@dataclass(frozen=True, kw_only=True)
class Actor:
    """Who performs an operation: a user name, and how they were identified."""

    name: str
    via: str = "local"  # "local" (embedded: Settings.user) or "token"


@dataclass(frozen=True, kw_only=True)
class RoleBinding:
    user: str
    role: Role
    scope: Scope = GLOBAL_SCOPE
    created_ms: int = 0


@dataclass(frozen=True, kw_only=True)
class ApiToken:
    """A token's public record; the secret is shown once at creation and never stored."""

    id: str
    user: str
    created_ms: int
    expires_ms: int | None
    revoked_ms: int | None = None
    description: str = ""

    def active_at(self, now_ms: int) -> bool:
        return self.revoked_ms is None and (self.expires_ms is None or now_ms < self.expires_ms)


@dataclass(frozen=True, kw_only=True)
class AuditEvent:
    """One link of the hash chain: ``hash`` covers every other field, ``prev_hash`` included."""

    seq: int
    time_ms: int
    actor: str
    action: str
    object_kind: str
    object_id: str
    details: dict[str, Any] = field(default_factory=dict)
    prev_hash: str
    hash: str


@dataclass(frozen=True, kw_only=True)
class ChainBreak:
    """The first link ``audit verify`` found broken, and how."""

    seq: int
    reason: str


class ApprovalKind(enum.StrEnum):
    STAGE_TRANSITION = "stage_transition"
    PROTECTED_ALIAS = "protected_alias"
    DEPLOYMENT_PROMOTE = "deployment_promote"


class ApprovalStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    APPLIED = "applied"


@dataclass(frozen=True, kw_only=True)
class ApprovalDecision:
    approver: str
    approved: bool
    comment: str
    time_ms: int


@dataclass(frozen=True, kw_only=True)
class ApprovalRequest:
    """A change waiting for other eyes; ``target`` holds what to apply (stage, alias, ...)."""

    id: int
    kind: ApprovalKind
    model_name: str
    version: int
    target: dict[str, Any]
    requested_by: str
    reason: str
    status: ApprovalStatus
    created_ms: int
    updated_ms: int
    decisions: tuple[ApprovalDecision, ...] = ()

    @property
    def object_id(self) -> str:
        return f"{self.model_name}/{self.version}"


@dataclass(frozen=True, kw_only=True)
class ApprovalPolicy:
    """Per registered model: which changes need approval, by how many, under which preconditions."""

    model_name: str
    stages: tuple[str, ...] = ("Production",)
    protected_aliases: tuple[str, ...] = ("champion",)
    required_approvers: int = 1
    require_gate_blessing: bool = False
    require_model_card: bool = False
    require_no_open_alert: bool = False
    protect_deployments: bool = False  # serving a version needs a protected stage/alias or an approval


GATE_BLESSED_TAG = "modelyard.gate.blessed"
GATE_VERDICT_TAG = "modelyard.gate.verdict"

CARD_FIELDS: tuple[str, ...] = (
    "intended_use",
    "out_of_scope_use",
    "limitations",
    "ethical_considerations",
    "caveats",
)
"""The fields a person writes that make a model card complete (what ``require_model_card`` checks)."""

CARD_EXTRA_FIELDS: tuple[str, ...] = (
    "documentation",
    "licenses",
    "references",
    "citations",
    "users",
    "input_description",
    "output_description",
)
"""Model Card Toolkit fields no record fills (model details' documentation, licenses, references and
citations; considerations' users; model parameters' input and output format, in words): a person
may fill them, a card is complete without them."""

GATE_CANDIDATE_METRIC_PREFIX = "candidate."
"""The validation gate logs the candidate's evaluation on its step's run as ``candidate.<metric>``."""


class FieldSource(enum.StrEnum):
    """Where a documentation field's value comes from."""

    RECORDS = "filled-from-records"
    PERSON = "left-for-a-person"


@dataclass(frozen=True, kw_only=True)
class DocField:
    """One field of a model card or compliance report; ``value`` is Markdown-free plain text."""

    key: str
    label: str
    value: str
    source: FieldSource = FieldSource.RECORDS


@dataclass(frozen=True, kw_only=True)
class DocSection:
    key: str
    title: str
    fields: tuple[DocField, ...]


@dataclass(frozen=True, kw_only=True)
class Document:
    """A model card or compliance report: titled sections of fields, rendered to Markdown/HTML/JSON."""

    kind: str  # "model_card" | "compliance_report"
    title: str
    subject: str  # "<name>/<version>"
    generated_ms: int
    sections: tuple[DocSection, ...]
    front_matter: dict[str, Any] = field(default_factory=dict)
    """Metadata written as YAML front matter above the Markdown (a model card's Hugging Face header)."""

    def fields(self) -> list[DocField]:
        return [f for s in self.sections for f in s.fields]
