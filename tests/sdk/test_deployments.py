"""``my.deployments``: the public entrance to serving, on the fluent API's store."""

from __future__ import annotations

from typing import Any

import httpx

from modelyard.config import Settings
from tests.serving._deployed import FEATURES, Constant, classifier, register


def test_deploy_shift_promote_history_and_serve(my: Any, sdk_settings: Settings) -> None:
    register(sdk_settings, "churn", [classifier(0.0), Constant(1)], champion=1)
    d = my.deployments
    made = d.deploy(
        "churn-api",
        [d.VariantSpec(uri="models:/churn@champion"), d.VariantSpec(uri="models:/churn/2", mode=d.VariantMode.CANARY)],
    )
    assert [v.model_version for v in made.variants] == ["churn/1", "churn/2"]
    assert d.set_traffic("churn-api", {"canary": 30}).traffic()["canary"] == 30.0
    promoted, moved = d.promote("churn-api")
    assert promoted.primary is not None and promoted.primary.model_version == "churn/2"
    assert moved is not None and moved.to_version == 2
    assert [e.kind.value for e in d.history("churn-api")] == ["deployed", "traffic", "promoted"]
    assert [x.name for x in d.list()] == ["churn-api"] and d.get("churn-api").revision == 3
    with d.serve(["churn-api"]) as url:
        answer = httpx.post(
            f"{url}/v1/deployments/churn-api/predict", json={"records": FEATURES.head(2).to_dict("records")}
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-modelyard-model-version"] == "churn/2"
    d.undeploy("churn-api")
    assert d.list() == []
