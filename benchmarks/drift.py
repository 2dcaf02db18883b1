"""Drift detection: modelyard vs Evidently's data drift preset vs a plain numpy/scipy limit.

One run per tool and size, on the same generated data (``modelyard.monitoring.drift.synthetic``:
20 numeric columns of three distribution shapes, 5 categorical ones, 5 known drifted columns and
one missing-rate-only change), written once to parquet and read by every tool. Each tool runs in a
subprocess of its own (``_drift_worker.py``), so its peak memory (``ru_maxrss``) is its own; time is
``perf_counter`` from the loaded frames to the verdicts.

Tools: ``numpy`` (the limit: the same statistics and decision rule written as directly as
possible), ``modelyard`` (exact: reference built from the frame, then scored), ``modelyard_profile``
(a window scored against the profile a dataset version stores, as monitors do; built untimed first) and ``evidently``
(``Report([DataDriftPreset()], include_tests=True)``). Evidently runs in its own virtualenv
(``.venv/evidently``, created on first use from the ``bench-evidently`` extra) because 0.7.x does
not import with pandas 3, which the project's environment has.

Full sizes: 1,000, 100,000 and 1,000,000 rows per side (``--scale 0.1`` gives 1,000/10,000/100,000).
Standalone: ``python benchmarks/drift.py [--scale S]``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: `python benchmarks/drift.py`

from benchmarks._common import Case, Options
from modelyard.monitoring.drift.synthetic import DRIFTED_COLUMNS, MISSING_RATE_COLUMN, drift_frames

ROOT = Path(__file__).resolve().parent.parent

TITLE = "Drift: modelyard vs Evidently DataDriftPreset (and the plain numpy/scipy limit)"
INCUMBENT = "Evidently"

SIZES = (1_000, 100_000, 1_000_000)
TOOLS = ("numpy", "modelyard", "modelyard_profile", "evidently")
WORKER = Path(__file__).resolve().parent / "_drift_worker.py"
EVIDENTLY_VENV = ROOT / ".venv" / "evidently"
EVIDENTLY_EXTRA = "bench-evidently"
TIMEOUT_S = 1_800
TARGET_VS_EVIDENTLY = 15.0  # at 1M rows: >= 15x faster
TARGET_VS_NUMPY = 1 / 1.5  # within 1.5x of the plain limit
TARGET_MEMORY = 2.0  # half of Evidently's peak or less

_versions: dict[str, str] = {}


def versions() -> dict[str, str]:
    return dict(_versions)


def evidently_python() -> Path | None:
    """The interpreter of the Evidently virtualenv, created on first use; ``None`` if that fails."""
    python = EVIDENTLY_VENV / "bin" / "python"
    if python.exists() and _imports(python, "evidently"):
        return python
    requirements = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"][
        EVIDENTLY_EXTRA
    ]
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(EVIDENTLY_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *requirements], check=True)
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"Evidently could not be installed ({exc}); its cases are skipped", file=sys.stderr)
        return None
    return python if _imports(python, "evidently") else None


def _imports(python: Path, module: str) -> bool:
    return subprocess.run([str(python), "-c", f"import {module}"], capture_output=True).returncode == 0


def _run_tool(python: Path, tool: str, ref: Path, cur: Path) -> dict[str, Any] | None:
    proc = subprocess.run(
        [str(python), str(WORKER), tool, str(ref), str(cur)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        print(f"{tool} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    flagged = set(out["flagged"])
    truth = set(DRIFTED_COLUMNS)
    hits = len(flagged & truth)
    out["precision"] = hits / len(flagged) if flagged else 1.0
    out["recall"] = hits / len(truth)
    out["false_positives"] = sorted(flagged - truth)
    out["missed"] = sorted(truth - flagged)
    out["missing_rate_alone"] = out["missing_flagged"] == [MISSING_RATE_COLUMN]
    return out


def measure(n_rows: int, evidently: Path | None) -> dict[str, dict[str, Any] | None]:
    """Every tool once on the same ``n_rows`` x 2 frames."""
    ref_df, cur_df = drift_frames(n_rows, seed=0)
    with tempfile.TemporaryDirectory(prefix="modelyard-drift-bench-") as tmp:
        ref, cur = Path(tmp) / "reference.parquet", Path(tmp) / "current.parquet"
        ref_df.to_parquet(ref)
        cur_df.to_parquet(cur)
        del ref_df, cur_df
        results: dict[str, dict[str, Any] | None] = {}
        for tool in TOOLS:
            python = evidently if tool == "evidently" else Path(sys.executable)
            results[tool] = None if python is None else _run_tool(python, tool, ref, cur)
    return results


def run(options: Options) -> list[Case]:
    evidently = evidently_python()
    console = Console()
    cases: list[Case] = []
    for full in SIZES:
        n = options.n(full, minimum=1_000)
        console.print(f"[dim]drift: {n:,} rows per side ...[/]")
        res = measure(n, evidently)
        _print_tools(console, n, res)
        for tool, out in res.items():
            if out:
                _versions[tool] = out["version"]
        cases.extend(_cases(n, full, res))
    return cases


def _cases(n: int, full: int, res: dict[str, dict[str, Any] | None]) -> list[Case]:
    my = res["modelyard"]
    if my is None:
        return []
    at_full = full == SIZES[-1]
    quality = ", ".join(
        f"{tool} P/R {out['precision']:.2f}/{out['recall']:.2f}" for tool, out in res.items() if out is not None
    )

    def case(
        label: str,
        unit: str,
        figure: str,
        against: str,
        higher_is_better: bool,
        target: float | None = None,
        note: str = "",
        details: dict[str, Any] | None = None,
    ) -> Case:
        """modelyard's ``figure`` against tool ``against``'s (none if it failed); targets hold at full size."""
        other = res[against]
        return Case(
            name=f"{n:,} rows: {label}",
            unit=unit,
            modelyard=my[figure],
            incumbent=other[figure] if other else None,
            higher_is_better=higher_is_better,
            target=target if at_full else None,
            note=note,
            details=details or {},
        )

    return [
        case("drift run", "s", "seconds", "evidently", False, TARGET_VS_EVIDENTLY, quality, dict(res)),
        case("peak RSS", "MiB", "peak_rss_mib", "evidently", False, TARGET_MEMORY),
        case("vs plain numpy (incumbent column = numpy)", "s", "seconds", "numpy", False, TARGET_VS_NUMPY),
        case("recall of drifted columns", "share", "recall", "evidently", True),
        case("precision", "share", "precision", "evidently", True),
    ]


def _print_tools(console: Console, n: int, res: dict[str, dict[str, Any] | None]) -> None:
    table = Table(title=f"drift, {n:,} rows per side", title_justify="left")
    for col in ("tool", "time s", "peak RSS MiB", "over loaded MiB", "P / R", "false pos.", "missed", "missing-rate"):
        table.add_column(col)
    for tool, out in res.items():
        if out is None:
            table.add_row(tool, "failed or not installed", "", "", "", "", "", "")
            continue
        table.add_row(
            tool,
            f"{out['seconds']:.3f}",
            f"{out['peak_rss_mib']:.0f}",
            f"{out['peak_rss_mib'] - out['loaded_rss_mib']:.0f}",
            f"{out['precision']:.2f} / {out['recall']:.2f}",
            ", ".join(out["false_positives"]) or "-",
            ", ".join(out["missed"]) or "-",
            ", ".join(out["missing_flagged"]) or "not flagged",
        )
    console.print(table)


if __name__ == "__main__":
    import argparse

    from benchmarks._common import print_table, write_results

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    result = run(Options(scale=args.scale))
    print_table(TITLE, INCUMBENT, result)
    print(f"results: {write_results('drift', result, {'scale': args.scale, **versions()})}")
