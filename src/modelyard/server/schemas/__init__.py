"""HTTP bodies of ``/api/v1``: request models written per context, responses derived from the
domain records (``schema_for``), so a response always has the record's fields."""

from modelyard.server.schemas._derive import Count as Count
from modelyard.server.schemas._derive import Int64 as Int64
from modelyard.server.schemas._derive import JsonFloat as JsonFloat
from modelyard.server.schemas._derive import Schema as Schema
from modelyard.server.schemas._derive import schema_for as schema_for

__all__ = ["Count", "Int64", "JsonFloat", "Schema", "schema_for"]
