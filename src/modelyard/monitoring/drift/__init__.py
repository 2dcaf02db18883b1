"""Drift statistics: a production window against a reference (a frame, or a stored profile).

``detect_drift(Reference.from_frame(train), window)`` scores every column once (KS, PSI and
Wasserstein for numbers; chi-square, Jensen-Shannon and PSI for categories; the missing rate for
all), corrects the p-values of the run, and returns plain ``DatasetDrift`` / ``FeatureDrift``
records. ``Reference.from_profile(profile)`` does the same from a dataset version's stored
profile without reloading its data. The statistic functions are exported for direct use; each
equals its scipy counterpart where one exists.
"""

from modelyard.monitoring.drift.chi2 import Chi2Result as Chi2Result
from modelyard.monitoring.drift.chi2 import chi2_homogeneity as chi2_homogeneity
from modelyard.monitoring.drift.chi2 import total_variation as total_variation
from modelyard.monitoring.drift.correction import adjust_p_values as adjust_p_values
from modelyard.monitoring.drift.detect import detect_drift as detect_drift
from modelyard.monitoring.drift.js import jensen_shannon as jensen_shannon
from modelyard.monitoring.drift.ks import KSResult as KSResult
from modelyard.monitoring.drift.ks import ks_2samp_sorted as ks_2samp_sorted
from modelyard.monitoring.drift.missing import MissingRateResult as MissingRateResult
from modelyard.monitoring.drift.missing import missing_rate_test as missing_rate_test
from modelyard.monitoring.drift.psi import psi as psi
from modelyard.monitoring.drift.psi import quantile_cuts as quantile_cuts
from modelyard.monitoring.drift.reference import Reference as Reference
from modelyard.monitoring.drift.results import DatasetDrift as DatasetDrift
from modelyard.monitoring.drift.results import DriftMethod as DriftMethod
from modelyard.monitoring.drift.results import DriftStatus as DriftStatus
from modelyard.monitoring.drift.results import FeatureDrift as FeatureDrift
from modelyard.monitoring.drift.thresholds import DEFAULT_THRESHOLDS as DEFAULT_THRESHOLDS
from modelyard.monitoring.drift.thresholds import DriftThresholds as DriftThresholds
from modelyard.monitoring.drift.wasserstein import wasserstein_1 as wasserstein_1

__all__ = [
    "DEFAULT_THRESHOLDS",
    "Chi2Result",
    "DatasetDrift",
    "DriftMethod",
    "DriftStatus",
    "DriftThresholds",
    "FeatureDrift",
    "KSResult",
    "MissingRateResult",
    "Reference",
    "adjust_p_values",
    "chi2_homogeneity",
    "detect_drift",
    "jensen_shannon",
    "ks_2samp_sorted",
    "missing_rate_test",
    "psi",
    "quantile_cuts",
    "total_variation",
    "wasserstein_1",
]
