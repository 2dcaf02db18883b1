"""Batch inference on Ray Data: the same scoring as ``batch.py``, spread over a Ray cluster's workers.

The input is read by Ray Data (``read_parquet`` / ``read_csv``: one file or a folder of them),
scored by a pool of actors that each hold one copy of the model (shipped once through the
object store, so workers never need the registry), in batches of at most ``chunk_size`` rows,
with the input's row order kept. Results stream back to the caller and are written to one output
file exactly as the local executor writes it, so memory on the caller stays bounded by the
in-flight batches. ``ray`` is imported only when this executor is used (``pip install
modelyard[ray]``); without an ``address`` (and no ``RAY_ADDRESS``) a local Ray instance is
started for the run and stopped after it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pyarrow as pa

from modelyard.errors import BackendUnavailable, InvalidInput
from modelyard.models import Predictor
from modelyard.serving.batch import (
    DEFAULT_CHUNK_SIZE,
    BatchResult,
    check_paths,
    file_format,
    input_files,
    predict_table,
    write_output,
)


class _Scorer:
    """One Ray actor's model: scores Arrow batches with ``predict_table``."""

    def __init__(self, predictor: Predictor, proba: bool) -> None:
        self._predictor = predictor
        self._proba = proba

    def __call__(self, batch: pa.Table) -> pa.Table:
        return predict_table(self._predictor, batch, proba=self._proba, first_row=None)


def predict_file_ray(
    predictor: Predictor,
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    proba: bool = False,
    workers: int = 1,
    address: str | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> BatchResult:
    """Score ``input_path`` into ``output_path`` with ``workers`` Ray actors (see the module docstring)."""
    if chunk_size < 1:
        raise InvalidInput(f"--chunk-size must be at least 1, got {chunk_size}")
    if workers < 1:
        raise InvalidInput(f"--workers must be at least 1, got {workers}")
    fmt = file_format(input_path)
    file_format(output_path)
    check_paths(input_path, output_path)
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise BackendUnavailable("the ray executor needs Ray: pip install 'modelyard[ray]'") from exc

    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True  # the output lines up with the input
        context.enable_progress_bars = False
        context.raise_original_map_exception = True  # a signature break surfaces as our InvalidInput
        paths = [os.fspath(f) for f in input_files(input_path)]  # a folder: the same files the local executor reads
        dataset = ray.data.read_parquet(paths) if fmt == "parquet" else ray.data.read_csv(paths)
        scored = dataset.map_batches(
            _Scorer,
            fn_constructor_kwargs={"predictor": predictor, "proba": proba},
            batch_size=chunk_size,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(min_size=1, max_size=workers),
        )

        def tables() -> Iterator[pa.Table]:
            for batch in scored.iter_batches(batch_size=chunk_size, batch_format="pyarrow"):
                yield batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])

        return write_output(tables(), input_path, output_path, on_chunk=on_chunk)
    except Exception as exc:
        found = _user_error(exc)
        if found is None or found is exc:
            raise
        raise found from None  # the caller's error, not Ray's remote traceback around it
    finally:
        if started_here:
            ray.shutdown()


def _user_error(exc: BaseException) -> InvalidInput | None:
    """The ``InvalidInput`` behind a failure: Ray re-raises a task's error wrapped, the original in ``cause``."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, InvalidInput):
        return cause
    return exc if isinstance(exc, InvalidInput) else None
