"""Buckets for requests: stable hashes of a sticky key, or uniform random draws.

The hash is BLAKE2b of ``salt`` and the key value, so it is the same in every process, on every
replica and after every restart (Python's ``hash`` is salted per process and would not be). The
deployment name is the salt: one customer may land on a canary in one deployment and on the
primary in another, instead of being the guinea pig everywhere.
"""

from __future__ import annotations

import hashlib
import random

BUCKETS = 10_000
"""Traffic is split over this many buckets, so weights resolve to 0.01 %."""

_random = random.Random()


def sticky_bucket(key: str, *, salt: str) -> int:
    """The bucket (0-9999) for ``key`` under ``salt``; the same inputs always give the same bucket."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8, key=salt.encode("utf-8")[:64]).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def random_bucket() -> int:
    """A uniformly random bucket for a request without a sticky key."""
    return _random.randrange(BUCKETS)
