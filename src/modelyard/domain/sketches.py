"""What a categorical profile keeps of a column's levels: exact counts within a size budget, the rest as a sketch.

A profile is the reference a production window is compared with, so it must recognise a level the
reference never held (an *unseen* level: a new product code, a misspelt country) from the profile
alone. Keeping every level exactly does that, but an id-like column can have millions of levels.
So a profile keeps exact counts for the most frequent levels while they fit ``LEVELS_BUDGET_BYTES``
of JSON (every level of a column of up to ~2,000 short labels), and *remembers* the remaining
levels in a Bloom filter (``LevelSketch``, at most ``SKETCH_MAX_BYTES``) next to their total count.

A Bloom filter has no false negatives: a label it rejects was certainly not among the reference's
remaining levels, so it is unseen. A label it accepts is one of them or, with probability
``false_positive_rate``, a collision (an unseen level then counts with the tail, as it did before
profiles had a sketch). Hashing is BLAKE2b, not Python's ``hash``, so a profile written by one
process or Python version reads the same in any other.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelyard.errors import InvalidInput

if TYPE_CHECKING:  # numpy loads on first use: reading a profile's record must not pay for it
    import numpy as np
    import numpy.typing as npt

LEVELS_BUDGET_BYTES = 40 * 1024
"""JSON bytes the exact levels of one categorical profile may take (labels, counts, separators)."""
SKETCH_MAX_BYTES = 16 * 1024
"""Bit array size cap of one ``LevelSketch`` (21.4 KiB once base64-encoded in the profile's JSON)."""
TARGET_FALSE_POSITIVE_RATE = 0.01
"""A sketch is sized for this rate; beyond ~13,600 remaining levels the byte cap makes it higher."""
_HASH = "blake2b-128"


@dataclass(frozen=True, kw_only=True)
class LevelSketch:
    """A Bloom filter of category labels: ``bits`` (``8 * len(bits)`` of them), ``hashes`` per label.

    ``levels`` is how many labels were added. Build one with ``LevelSketch.build``; ask it with
    ``might_contain``.
    """

    bits: bytes
    hashes: int
    levels: int

    def __post_init__(self) -> None:
        if not self.bits or self.hashes < 1 or self.levels < 0:
            raise InvalidInput("a LevelSketch needs bits, at least one hash and a level count >= 0")

    @property
    def size_bits(self) -> int:
        return 8 * len(self.bits)

    @property
    def false_positive_rate(self) -> float:
        """The chance that a label never added is accepted: ``(1 - e^(-k n / m))^k``."""
        return float((1.0 - math.exp(-self.hashes * self.levels / self.size_bits)) ** self.hashes)

    @classmethod
    def build(
        cls,
        labels: Sequence[str],
        *,
        max_bytes: int = SKETCH_MAX_BYTES,
        false_positive_rate: float = TARGET_FALSE_POSITIVE_RATE,
    ) -> LevelSketch:
        """A filter sized for ``false_positive_rate`` over ``labels``, capped at ``max_bytes``."""
        if max_bytes < 1 or not 0.0 < false_positive_rate < 1.0:
            raise InvalidInput("a LevelSketch needs max_bytes >= 1 and a false positive rate in (0, 1)")
        n = max(len(labels), 1)
        wanted_bits = math.ceil(-n * math.log(false_positive_rate) / math.log(2) ** 2)
        size_bits = 8 * min(max_bytes, max(8, math.ceil(wanted_bits / 8)))
        hashes = max(1, round(size_bits / n * math.log(2)))
        import numpy as np  # lazy: see the imports

        bits = np.zeros(size_bits, dtype=np.uint8)
        if labels:
            bits[_positions(labels, hashes, size_bits).ravel()] = 1
        return cls(bits=np.packbits(bits, bitorder="little").tobytes(), hashes=hashes, levels=len(labels))

    def might_contain(self, labels: Sequence[str]) -> list[bool]:
        """Per label: ``False`` when it was certainly never added, ``True`` when it may have been."""
        if not labels:
            return []
        import numpy as np  # lazy: see the imports

        bits = np.unpackbits(np.frombuffer(self.bits, dtype=np.uint8), bitorder="little")
        hit: npt.NDArray[np.bool_] = np.all(bits[_positions(labels, self.hashes, self.size_bits)], axis=1)
        return [bool(h) for h in hit.tolist()]

    def to_dict(self) -> dict[str, Any]:
        return {
            "hash": _HASH,
            "hashes": self.hashes,
            "levels": self.levels,
            "bits": base64.b64encode(self.bits).decode("ascii"),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LevelSketch:
        if data.get("hash", _HASH) != _HASH:
            raise ValueError(f"unknown level sketch hash {data.get('hash')!r}")
        return cls(bits=base64.b64decode(data["bits"]), hashes=int(data["hashes"]), levels=int(data["levels"]))


def _positions(labels: Sequence[str], hashes: int, size_bits: int) -> npt.NDArray[np.int64]:
    """Bit positions of each label (rows), by double hashing two 64-bit halves of its BLAKE2b digest."""
    import numpy as np  # lazy: see the imports

    digests = b"".join(
        hashlib.blake2b(label.encode("utf-8", "surrogatepass"), digest_size=16).digest() for label in labels
    )
    halves = np.frombuffer(digests, dtype="<u8").reshape(-1, 2)
    h1, h2 = halves[:, 0:1], halves[:, 1:2] | np.uint64(1)
    steps = np.arange(hashes, dtype=np.uint64)[None, :]
    with np.errstate(over="ignore"):  # wrapping mod 2^64 is part of the (fixed) scheme
        combined = h1 + steps * h2
    return (combined % np.uint64(size_bits)).astype(np.int64)


def split_levels(
    counts: Mapping[str, int], *, budget_bytes: int = LEVELS_BUDGET_BYTES
) -> tuple[list[tuple[str, int]], list[str]]:
    """``(exact, tail)``: the most frequent levels (ties by label) whose JSON fits ``budget_bytes``
    with their counts, and the labels of every remaining level."""
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    used = 0
    for i, (label, count) in enumerate(ordered):
        # as ``json.dumps`` writes it: the label in "values", the count in "counts", ", " after each
        used += len(json.dumps(label)) + len(str(count)) + 4
        if used > budget_bytes:
            return ordered[:i], [lab for lab, _ in ordered[i:]]
    return ordered, []
