"""Models returned by steps carry a signature and an input example, as a hand-logged model does;
a step's dataset inputs are recorded under the step's parameter names."""

from __future__ import annotations

import pytest

from modelyard.domain.data import DatasetRole
from modelyard.domain.lineage import NodeKind, NodeRef
from modelyard.domain.pipelines import StepStatus
from modelyard.errors import InvalidInput
from modelyard.pipelines.runner import dataset_role
from modelyard.pipelines.signatures import SIGNATURE_TAG
from modelyard.sdk.client import Client
from modelyard.store.repos import lineage as lineage_rows
from tests.pipelines.signature_flows import FEATURES, fitted, unnamed


def test_a_step_model_has_the_signature_of_its_features_and_its_inputs_their_roles(client: Client) -> None:
    result = fitted.run(client=client).check()
    fit = result.step("fit_pipeline")
    assert fit.run_id is not None
    run = client.get_run(fit.run_id)
    assert run.data.tags[SIGNATURE_TAG] == "inferred from input 'train': 3 feature columns"

    model = client.registry.load_model("models:/sig-model/1")
    assert model.signature is not None
    assert model.signature.input_names == FEATURES  # the target column is not a feature
    assert model.manifest.input_example_path is not None
    frame = result.output("make_frame")
    assert len(model.predict(frame[list(FEATURES)])) == len(frame)
    with pytest.raises(InvalidInput, match="column 'b': missing") as raised:
        model.predict(frame[["a", "c"]])
    assert [p["column"] for p in raised.value.details["problems"]] == ["b"]

    roles = {i.role for i in client.backend.datasets.inputs_of_run(fit.run_id)}
    assert roles == {DatasetRole.TRAIN, DatasetRole.TEST}
    with client.backend.db.read() as conn:
        edges = lineage_rows.upstream(conn, [NodeRef(kind=NodeKind.RUN, id=fit.run_id)])
    labels = sorted(e.properties["role"] for e in edges if e.source.kind is NodeKind.DATASET_VERSION)
    assert labels == ["holdout", "train"]

    again = fitted.run(client=client).check()  # the example is no part of the cache key
    assert again.step("fit_pipeline").status is StepStatus.CACHED
    assert again.step("fit_pipeline").cache_key == fit.cache_key


def test_a_stated_example_is_used_and_a_model_without_feature_names_says_why(client: Client) -> None:
    result = unnamed.run(client=client).check()

    stated = result.output("fit_stated")
    assert stated.signature is not None and stated.signature.input_names == ("a", "c")
    stated_run = client.get_run(result.step("fit_stated").run_id or "")
    assert stated_run.data.tags[SIGNATURE_TAG] == "given by the step (ModelOutput)"
    frame = result.output("make_frame")
    with pytest.raises(InvalidInput, match="column 'b': not in the signature"):
        stated.predict(frame[["a", "b", "c"]])

    bare = result.output("fit_unnamed")
    assert bare.signature is None and bare.manifest.input_example_path is None
    assert len(bare.predict(frame[list(FEATURES)])) == len(frame)  # as before: no check, no example
    bare_run = client.get_run(result.step("fit_unnamed").run_id or "")
    assert bare_run.data.tags[SIGNATURE_TAG].startswith("none: the model does not name its features")


@pytest.mark.parametrize(
    ("param", "role"),
    [
        ("train", DatasetRole.TRAIN),
        ("frame", DatasetRole.TRAIN),
        ("x_train", DatasetRole.TRAIN),
        ("holdout", DatasetRole.TEST),
        ("test_frame", DatasetRole.TEST),
        ("val", DatasetRole.VALIDATION),
        ("reference", DatasetRole.REFERENCE),
    ],
)
def test_a_parameter_name_maps_to_the_closest_dataset_role(param: str, role: DatasetRole) -> None:
    assert dataset_role(param) is role
