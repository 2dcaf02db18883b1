"""What an alert rule's ``run_pipeline`` action does: run the pipeline on the newest data.

Monitoring calls an action runner it is handed (monitoring sits below pipelines); this is the one
the CLI and the SDK hand it, public so a script wiring its own monitor service can too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelyard.domain.monitoring import Alert
from modelyard.pipelines.definition import load_pipeline
from modelyard.pipelines.runner import run_pipeline
from modelyard.sdk.client import Client

LATEST = "@latest"


def pipeline_action(alert: Alert, action: Mapping[str, Any]) -> dict[str, Any]:
    """Run the pipeline an alert rule names, with the newest data; tag the run with the alert.

    A parameter written ``datasets:/NAME@latest`` becomes the newest version of NAME, so a
    retraining pipeline trains on what was logged most recently, not on what the rule was
    written against.
    """
    client = Client()
    params = {k: _newest(client, v) for k, v in dict(action.get("params") or {}).items()}
    result = run_pipeline(load_pipeline(str(action["run_pipeline"])), params, client=client)
    client.backend.runs.set_tags(
        result.run.run_id, {"modelyard.alert.id": alert.id, "modelyard.alert.rule": alert.rule}
    )
    return {
        "pipeline": str(action["run_pipeline"]),
        "pipeline_run_id": result.run.run_id,
        "pipeline_status": result.run.status.value,
        "params": {k: str(v) for k, v in params.items()},
    }


def _newest(client: Client, value: Any) -> Any:
    if isinstance(value, str) and value.startswith("datasets:/") and value.endswith(LATEST):
        name = value[len("datasets:/") : -len(LATEST)]
        return client.backend.datasets.list_versions(name)[0].uri
    return value
