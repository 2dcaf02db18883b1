"""A step that returns one of its input models passes it through: the pick is the stored model its
training step logged, not a copy, so ``register`` after it registers that very model."""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelyard.models import Predictor
from modelyard.pipelines import pipeline, step
from modelyard.pipelines.gates import register
from modelyard.sdk.client import Client
from tests.pipelines.flows import fit, make_data


@step
def pick(a: Predictor, b: Predictor, frame: pd.DataFrame) -> Predictor:
    """The model with more correct answers on ``frame`` (``a`` on a tie)."""

    def correct(model: Predictor) -> int:
        return int((np.asarray(model.predict(frame[["x1", "x2"]])) == frame["y"].to_numpy()).sum())

    return a if correct(a) >= correct(b) else b


@pipeline
def picking() -> None:
    frame = make_data(200, seed=3)
    weak = fit(frame, c=1e-4)
    strong = fit(frame, c=10.0)
    register(pick(weak, strong, frame), name="picked")


def test_a_picked_input_model_is_registered_from_its_training_step_without_a_copy(client: Client) -> None:
    result = picking.run(client=client).check()
    strong_output = result.step("fit_2").output
    picked = result.step("pick").output
    assert strong_output is not None and picked is not None
    assert picked == strong_output  # the stored model of the strong fit, not a new one
    pick_run = result.step("pick").run_id or ""
    assert [f.path for f in client.list_artifacts(pick_run)] == []  # nothing saved in the pick's run
    version = client.registry.get_model_version("picked", result.output("register")["version"])
    assert version.source == strong_output.location

    again = picking.run(client=client).check()  # cached: the same pick, registered once more
    assert again.step("pick").output == strong_output
