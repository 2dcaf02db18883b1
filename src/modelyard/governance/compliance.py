"""EU AI Act Annex IV technical documentation, as far as the platform's records can fill it.

Each item of Annex IV (Regulation (EU) 2024/1689) becomes a field marked *filled-from-records*
(registry, runs, datasets, lineage, approvals, deployments, the audit chain) or
*left-for-a-person* (intended purpose, risk management, standards, the declaration of
conformity...). Text a person already wrote into the model card is carried over. The report is
written as JSON (for tools) and self-contained HTML (for people).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.domain.governance import DocField, DocSection, Document, FieldSource, Permission, Scope
from modelyard.errors import InvalidInput
from modelyard.governance import cards
from modelyard.governance._render import to_html, to_json_text
from modelyard.governance.access import guarded, require
from modelyard.governance.actors import ActorProvider, actor_provider
from modelyard.governance.audit import verify_events
from modelyard.store.db import Database
from modelyard.store.repos import approvals as approval_rows
from modelyard.store.repos import audit as audit_rows
from modelyard.store.repos import environments as environment_rows
from modelyard.store.repos import model_versions as version_rows


def _rec(key: str, label: str, value: str) -> DocField:
    return DocField(key=key, label=label, value=value)


def _person(key: str, label: str, value: str = "") -> DocField:
    return DocField(key=key, label=label, value=value, source=FieldSource.PERSON)


def build_report(conn: Connection, name: str, version: int, *, now_ms: int) -> Document:
    """The Annex IV document for ``name``/``version``."""
    facts = cards.gather(conn, name, version)
    card = {f.key: f for f in cards.build_card(facts, now_ms=now_ms).fields()}
    people = facts.people
    run = facts.run
    env = environment_rows.get(conn, run.info.environment_digest) if run and run.info.environment_digest else None
    others = version_rows.search(conn, version_rows.VersionFilter(names=[name]), max_results=10_000, offset=0)
    policy = approval_rows.get_policy(conn, name)
    chain = verify_events(audit_rows.iterate(conn))
    model_events = audit_rows.search(conn, object_kind="registered_model", object_id=name)
    versions_text = "\n".join(
        f"{v.name}/{v.version}: {v.stage.value}, registered {cards.iso(v.creation_time)}, digest {v.digest[:16]}"
        + (" (this version)" if v.version == version else "")
        for v in sorted(others, key=lambda v: v.version)
    )
    software = (
        f"python {env['python_version']} on {env['platform']}; "
        + ", ".join(f"{k}=={val}" for k, val in sorted(env["packages"].items())[:40])
        if env
        else f"model flavor {facts.version.flavor}; no environment was captured on the training run"
    )
    policy_text = (
        f"approval required for stages {', '.join(policy.stages) or 'none'} and aliases "
        f"{', '.join('@' + a for a in policy.protected_aliases) or 'none'} by {policy.required_approvers} "
        f"approver(s) other than the requester; preconditions: gate blessing={policy.require_gate_blessing}, "
        f"complete model card={policy.require_model_card}, no open drift alert={policy.require_no_open_alert}"
        if policy
        else "no approval policy is set on this model: transitions are not four-eyes controlled"
    )
    history = "\n".join(
        f"#{e.seq} {cards.iso(e.time_ms)} {e.actor}: {e.action} {e.object_id}"
        for e in sorted([*facts.history, *model_events], key=lambda e: e.seq)
    )
    chain_text = (
        f"hash-chained audit trail of {chain.events} events verified intact; head #{chain.head_seq} {chain.head_hash}"
        if chain.ok and chain.first_break is None
        else f"audit trail BROKEN at event {chain.first_break.seq if chain.first_break else '?'}: "
        f"{chain.first_break.reason if chain.first_break else ''}"
    )
    hardware = env["platform"] if env else "not captured on the training run"
    architecture = f"{facts.version.flavor}; inputs {card['input_format'].value}"
    sections = (
        DocSection(
            key="1",
            title="1. General description of the AI system",
            fields=(
                _person("1a_purpose", "(a) Intended purpose, provider", people.get("intended_use", "")),
                _rec("1a_version", "(a) System version and relation to previous versions", versions_text),
                _person("1b_interaction", "(b) Interaction with other hardware, software or AI systems"),
                _rec("1c_software", "(c) Software versions and dependencies", software),
                _rec("1d_forms", "(d) Forms placed on the market / put into service", card["deployments"].value),
                _person("1e_hardware", "(e) Hardware on which the AI system is intended to run"),
                _rec("1e_training_hardware", "(e) For reference: hardware the model was trained on", hardware),
                _person(
                    "1f_product",
                    "(f) Where the AI system is a component of products: photographs or illustrations "
                    "showing their external features, marking and internal layout",
                ),
                _person("1g_instructions", "(g)-(h) User interface and instructions for use"),
            ),
        ),
        DocSection(
            key="2",
            title="2. Elements of the AI system and of the process for its development",
            fields=(
                _rec("2a_methods", "(a) Methods and steps of development", card["training_run"].value),
                _rec("2a_lineage", "(a) Pre-trained or third-party inputs (lineage)", card["lineage"].value),
                _rec("2b_design", "(b) Design choices: model and hyperparameters", card["hyperparameters"].value),
                _person("2b_rationale", "(b) Rationale, assumptions and trade-offs"),
                _rec("2c_architecture", "(c) Architecture", architecture),
                _rec("2d_data", "(d) Data requirements and datasheets (training)", card["training_data"].value),
                _rec("2d_profiles", "(d) Data characteristics (profiles)", card["profiles"].value),
                _rec("2e_oversight", "(e) Human oversight measures (approvals)", policy_text),
                _person("2f_changes", "(f) Pre-determined changes"),
                _rec("2g_testing", "(g) Validation and testing data", card["evaluation_data"].value),
                _rec("2g_metrics", "(g) Test metrics", card["metrics"].value),
                _rec("2g_signed", "(g) Test reports signed by the responsible persons", card["approvals"].value),
                _rec(
                    "2g_bias",
                    "(g) Examination of possible biases (Article 10(2)(f)): metrics per group",
                    card["fairness"].value,
                ),
                _person("2h_security", "(h) Cybersecurity measures"),
            ),
        ),
        DocSection(
            key="3",
            title="3. Monitoring, functioning and control",
            fields=(
                _person("3_limitations", "Capabilities and limitations", people.get("limitations", "")),
                _person("3_unintended", "Foreseeable unintended outcomes and risks", people.get("caveats", "")),
                _rec("3_inputs", "Input data specifications", card["input_format"].value),
                _rec(
                    "3_explainability",
                    "Interpretability of the output (Article 13(3)(b)(iv)): global feature attributions",
                    card["explainability"].value,
                ),
                _rec("3_explanation_data", "Data the attributions were computed on", card["explanation_data"].value),
            ),
        ),
        DocSection(
            key="4",
            title="4. Appropriateness of the performance metrics",
            fields=(_rec("4_gate", "Validation gate (thresholds and verdict)", card["gate"].value),),
        ),
        DocSection(
            key="5",
            title="5. Risk management system (Article 9)",
            fields=(_person("5_risk", "Risk management", people.get("ethical_considerations", "")),),
        ),
        DocSection(
            key="6",
            title="6. Relevant changes through the lifecycle",
            fields=(_rec("6_changes", "Audited changes to this model and version", history or "no audited change"),),
        ),
        DocSection(
            key="7",
            title="7-8. Harmonised standards and EU declaration of conformity",
            fields=(_person("7_standards", "Harmonised standards applied"), _person("8_declaration", "Declaration")),
        ),
        DocSection(
            key="9",
            title="9. Post-market monitoring and record-keeping (Articles 12, 72)",
            fields=(
                _rec("9_serving", "Where the model serves (monitoring points)", card["deployments"].value),
                _person("9_plan", "Post-market monitoring plan"),
                _rec("12_logs", "Automatic logs (Article 12)", chain_text),
            ),
        ),
    )
    return Document(
        kind="compliance_report",
        title=f"Technical documentation (EU AI Act Annex IV): {facts.subject}",
        subject=facts.subject,
        generated_ms=now_ms,
        sections=sections,
    )


class ComplianceService:
    """Write the Annex IV report of a model version to a folder."""

    def __init__(self, db: Database, actor: ActorProvider | str | None = None, clock: Clock = SYSTEM_CLOCK) -> None:
        self._db = db
        self._actor = actor_provider(actor)
        self._clock = clock

    def report(self, name: str, version: int) -> Document:
        with guarded(self._db, self._clock) as conn:
            require(conn, self._actor(), Permission.READ, Scope.model(name), now_ms=self._clock.now_ms())
        with self._db.read() as conn:
            return build_report(conn, name, version, now_ms=self._clock.now_ms())

    def write(self, name: str, version: int, out_dir: Path) -> tuple[Path, Path]:
        """Write ``annex-iv.json`` and ``annex-iv.html`` into ``out_dir``; returns both paths."""
        if out_dir.exists() and not out_dir.is_dir():
            raise InvalidInput(f"{out_dir} exists and is not a folder")
        doc = self.report(name, version)
        out_dir.mkdir(parents=True, exist_ok=True)
        json_path, html_path = out_dir / "annex-iv.json", out_dir / "annex-iv.html"
        json_path.write_text(to_json_text(doc), encoding="utf-8")
        html_path.write_text(to_html(doc), encoding="utf-8")
        return json_path, html_path
