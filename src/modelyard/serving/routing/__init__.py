"""Traffic routing: weighted tables for canary and A/B splits, and stable hashing for stickiness.

Every split is expressed over the same 10,000 buckets: a request gets a bucket (random, or the
hash of its sticky key) and the table says which variant owns it. One mechanism serves canary,
A/B and sticky assignment, so the three cannot disagree.
"""

from modelyard.serving.routing.sticky import BUCKETS as BUCKETS
from modelyard.serving.routing.sticky import random_bucket as random_bucket
from modelyard.serving.routing.sticky import sticky_bucket as sticky_bucket
from modelyard.serving.routing.table import RouteTable as RouteTable
from modelyard.serving.routing.table import build_route_table as build_route_table

__all__ = ["BUCKETS", "RouteTable", "build_route_table", "random_bucket", "sticky_bucket"]
