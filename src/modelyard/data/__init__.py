"""Data versioning: content-addressed dataset versions with profiles, and the runs that used them.

A dataset version is named by the SHA-256 of its canonical Parquet bytes (``digests``), carries a
compact profile of every column (``profiles``) that monitoring later compares traffic against, and
two versions can be compared column by column (``diff``).
"""

from typing import TYPE_CHECKING

from modelyard._lazy import lazy_exports

if TYPE_CHECKING:
    from modelyard.data.datasets import DatasetService as DatasetService
    from modelyard.data.datasets import parse_role as parse_role
    from modelyard.data.datasets import validate_dataset_name as validate_dataset_name
    from modelyard.data.diff import ColumnChange as ColumnChange
    from modelyard.data.diff import DatasetDiff as DatasetDiff
    from modelyard.data.diff import TypeChange as TypeChange
    from modelyard.data.diff import diff_versions as diff_versions
    from modelyard.data.diff import psi as psi
    from modelyard.data.diff import total_variation as total_variation
    from modelyard.data.digests import CanonicalData as CanonicalData
    from modelyard.data.digests import canonicalize as canonicalize
    from modelyard.data.digests import content_digest as content_digest
    from modelyard.data.profiles import bin_counts as bin_counts
    from modelyard.data.profiles import numeric_values as numeric_values
    from modelyard.data.profiles import profile_table as profile_table

__getattr__ = lazy_exports(__name__, __file__)
del TYPE_CHECKING, lazy_exports  # import plumbing, not part of the package's surface

__all__ = [
    "CanonicalData",
    "ColumnChange",
    "DatasetDiff",
    "DatasetService",
    "TypeChange",
    "bin_counts",
    "canonicalize",
    "content_digest",
    "diff_versions",
    "numeric_values",
    "parse_role",
    "profile_table",
    "psi",
    "total_variation",
    "validate_dataset_name",
]
