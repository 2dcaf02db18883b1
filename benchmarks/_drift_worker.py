"""One drift tool on one pair of parquet files, in a process of its own; prints one JSON line.

Run by ``benchmarks/drift.py`` as ``python _drift_worker.py TOOL REFERENCE CURRENT``, so each tool's
peak memory (``ru_maxrss`` of this process) is its own. Deliberately standalone (no import of
``benchmarks`` or, for Evidently, of ``modelyard``): Evidently runs in an interpreter of its own
because 0.7.x does not import with pandas 3. Timed: from the loaded frames to the drift verdicts
(imports and the parquet load are not timed; they are the same for every tool or reported apart).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from typing import Any

import numpy as np
import pandas as pd

ALPHA = 0.05
KS_MIN_D = 0.05
TVD_MIN = 0.05
PSI_MODERATE = 0.1
MISSING_MIN_CHANGE = 0.01


def _rss_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _columns(df: pd.DataFrame) -> tuple[list[str], list[str]]:
    numeric = [str(c) for c in df.columns if pd.api.types.is_numeric_dtype(df[c].dtype)]
    return numeric, [str(c) for c in df.columns if str(c) not in numeric]


def run_evidently(ref: pd.DataFrame, cur: pd.DataFrame) -> dict[str, Any]:
    """The data drift preset with an explicit data definition, as a user would run it."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    numeric, categorical = _columns(ref)
    started = time.perf_counter()
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    snapshot = Report([DataDriftPreset()], include_tests=True).run(
        Dataset.from_pandas(cur, data_definition=definition), Dataset.from_pandas(ref, data_definition=definition)
    )
    body = snapshot.dict()
    seconds = time.perf_counter() - started
    flagged = [
        t["metric_config"]["params"]["column"]
        for t in body["tests"]
        if t.get("bound_test", {}).get("type", "").endswith("ValueDriftBoundTest") and t["status"] == "FAIL"
    ]
    import evidently

    return {"seconds": seconds, "flagged": flagged, "missing_flagged": [], "version": evidently.__version__}


def run_modelyard(ref: pd.DataFrame, cur: pd.DataFrame) -> dict[str, Any]:
    """modelyard's exact path: the reference is built from the frame (sorted once), then scored."""
    import modelyard
    from modelyard.monitoring.drift import Reference, detect_drift

    started = time.perf_counter()
    result = detect_drift(Reference.from_frame(ref), cur)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "flagged": [f.feature for f in result.features if f.drifted],
        "missing_flagged": [f.feature for f in result.missing if f.drifted],
        "version": getattr(modelyard, "__version__", "dev"),
    }


def run_modelyard_profile(ref: pd.DataFrame, cur: pd.DataFrame) -> dict[str, Any]:
    """A production window scored against the profile a dataset version stores (built first, untimed),
    as monitors and ``datasets drift`` do: no sort, no reference data."""
    from modelyard.data import canonicalize, profile_table
    from modelyard.domain.data import DatasetProfile
    from modelyard.monitoring.drift import Reference, detect_drift

    stored = json.dumps(profile_table(canonicalize(ref).table).to_dict())
    started = time.perf_counter()
    reference = Reference.from_profile(DatasetProfile.from_dict(json.loads(stored)))
    result = detect_drift(reference, cur)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "flagged": [f.feature for f in result.features if f.drifted],
        "missing_flagged": [f.feature for f in result.missing if f.drifted],
        "version": "profile",
    }


def run_numpy(ref: pd.DataFrame, cur: pd.DataFrame) -> dict[str, Any]:
    """The plain numpy/scipy limit: the same statistics and decision rule, written as directly as
    possible (sort both samples, scipy-style CDFs by ``searchsorted`` on the pooled sample)."""
    from scipy import stats

    numeric, categorical = _columns(ref)
    started = time.perf_counter()
    p_values: dict[str, float] = {}
    effect: dict[str, bool] = {}
    miss_p: dict[str, float] = {}
    miss_change: dict[str, float] = {}
    w1_normalised: dict[str, float] = {}  # computed as the limit must; Evidently's numeric default
    for name in numeric:
        a_all = ref[name].to_numpy(dtype=np.float64, na_value=np.nan)
        b_all = cur[name].to_numpy(dtype=np.float64, na_value=np.nan)
        a = np.sort(a_all[np.isfinite(a_all)])
        b = np.sort(b_all[np.isfinite(b_all)])
        pooled = np.sort(np.concatenate((a, b)))
        cdf_a = np.searchsorted(a, pooled, side="right") / a.size
        cdf_b = np.searchsorted(b, pooled, side="right") / b.size
        gap = cdf_a - cdf_b
        d = float(np.abs(gap).max())
        w1 = float(np.dot(np.abs(gap[:-1]), np.diff(pooled))) / float(a.std())
        if max(a.size, b.size) <= 10_000:
            p = float(stats.ks_2samp(a, b).pvalue)
        else:
            en = a.size * b.size / (a.size + b.size)
            p = float(stats.kstwo.sf(d, np.round(en)))
        cuts = np.unique(np.quantile(a, np.arange(1, 10) / 10))
        ra = np.diff(np.concatenate(([0], np.searchsorted(a, cuts), [a.size]))) / a.size
        rb = np.diff(np.concatenate(([0], np.searchsorted(b, cuts), [b.size]))) / b.size
        ra, rb = np.maximum(ra, 1e-4), np.maximum(rb, 1e-4)
        psi = float(np.sum((rb - ra) * np.log(rb / ra)))
        p_values[name] = p
        effect[name] = d >= KS_MIN_D or psi >= PSI_MODERATE
        w1_normalised[name] = w1
        _missing(name, a_all.size - a.size, a_all.size, b_all.size - b.size, b_all.size, miss_p, miss_change)
    for name in categorical:
        vc_a = ref[name].value_counts()
        vc_b = cur[name].value_counts()
        levels = vc_a.index.union(vc_b.index)
        ca = vc_a.reindex(levels, fill_value=0).to_numpy(dtype=np.float64)
        cb = vc_b.reindex(levels, fill_value=0).to_numpy(dtype=np.float64)
        _, p, _, _ = stats.chi2_contingency(np.vstack([ca, cb]), correction=False)
        pa, pb = ca / ca.sum(), cb / cb.sum()
        tvd = 0.5 * float(np.abs(pa - pb).sum())
        qa, qb = np.maximum(pa, 1e-4), np.maximum(pb, 1e-4)
        psi = float(np.sum((qb - qa) * np.log(qb / qa)))
        p_values[name] = float(p)
        effect[name] = tvd >= TVD_MIN or psi >= PSI_MODERATE
        _missing(
            name, int(ref[name].isna().sum()), len(ref), int(cur[name].isna().sum()), len(cur), miss_p, miss_change
        )
    m = len(p_values)
    flagged = [n for n, p in p_values.items() if p < ALPHA / m and effect[n]]  # Bonferroni
    missing_flagged = [n for n, p in miss_p.items() if p < ALPHA / m and abs(miss_change[n]) >= MISSING_MIN_CHANGE]
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "flagged": flagged,
        "missing_flagged": missing_flagged,
        "version": np.__version__,
        "w1_normalised": w1_normalised,
    }


def _missing(
    name: str, x1: int, n1: int, x2: int, n2: int, p_out: dict[str, float], change_out: dict[str, float]
) -> None:
    from scipy import stats

    pooled = (x1 + x2) / (n1 + n2)
    var = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    z = 0.0 if var <= 0 else (x2 / n2 - x1 / n1) / var**0.5
    p_out[name] = float(2 * stats.norm.sf(abs(z)))
    change_out[name] = x2 / n2 - x1 / n1


TOOLS = {
    "evidently": run_evidently,
    "modelyard": run_modelyard,
    "modelyard_profile": run_modelyard_profile,
    "numpy": run_numpy,
}


def main(argv: list[str]) -> int:
    tool, ref_path, cur_path = argv
    ref = pd.read_parquet(ref_path)
    cur = pd.read_parquet(cur_path)
    loaded = _rss_mib()
    out = TOOLS[tool](ref, cur)
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["loaded_rss_mib"] = loaded
    out["pandas"] = pd.__version__
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
