"""The explain benchmark's server, in a process of its own pinned to one CPU.

Usage: ``python benchmarks/_explain_worker.py MODEL_DIR PORT CPU``: serves the model directory as
deployment ``forest`` (one primary) on uvicorn, one worker, until terminated.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from modelyard.models import load_model_dir
from modelyard.serving import DeploymentPlan, Mode, ServingPlan, Variant
from modelyard.serving.runner import run


def main() -> None:
    model_dir, port, cpu = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    predictor = load_model_dir(model_dir)
    variant = Variant(name="blue", model_version="forest/1", predictor=predictor, mode=Mode.PRIMARY)
    run(ServingPlan([DeploymentPlan(name="forest", variants=(variant,))]), port=port)


if __name__ == "__main__":
    main()
