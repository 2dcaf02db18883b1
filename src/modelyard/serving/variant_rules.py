"""The shape rules of a deployment's variants, apart from the service that stores them: names, weights,
and which mixes of primary, canary, A/B and shadow variants may serve together (the module docstring of
``serving.deployments`` states them). Pure functions: the service, the CLI's previews and tests share them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from modelyard.domain.serving import DeploymentVariant, VariantMode
from modelyard.errors import InvalidInput
from modelyard.names import DEFAULT_MAX_LENGTH, URI_NAME, check_name

_DEFAULT_NAMES = {VariantMode.PRIMARY: "primary", VariantMode.CANARY: "canary", VariantMode.SHADOW: "shadow"}


def check_variants(name: str, variants: Sequence[DeploymentVariant]) -> None:
    """The traffic rules of the module docstring; ``InvalidInput`` naming the deployment otherwise."""
    names = [v.name for v in variants]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InvalidInput(f"deployment {name!r}: variant names repeat: {repeated}")
    for v in variants:
        if not _is_name(v.name):
            raise InvalidInput(f"deployment {name!r}: {v.name!r} is not a valid variant name")
        variant_weight(v.name, v.weight)
        if not 0 <= v.sample <= 100:
            raise InvalidInput(f"deployment {name!r}: shadow {v.name!r} sample must be within 0-100 %, got {v.sample}")
    by_mode = {mode: [v for v in variants if v.mode is mode] for mode in VariantMode}
    ab, primaries, canaries = by_mode[VariantMode.AB], by_mode[VariantMode.PRIMARY], by_mode[VariantMode.CANARY]
    if ab:
        if primaries or canaries:
            raise InvalidInput(f"deployment {name!r}: an A/B split cannot also have a primary or canaries")
        if len(ab) < 2:
            raise InvalidInput(f"deployment {name!r}: an A/B split needs at least two variants")
        if any(v.weight <= 0 for v in ab):
            zero = [v.name for v in ab if v.weight <= 0]
            raise InvalidInput(f"deployment {name!r}: A/B variants {zero} need a weight above 0")
        total = sum(v.weight for v in ab)
        if not math.isclose(total, 100.0, abs_tol=1e-6):
            raise InvalidInput(f"deployment {name!r}: A/B weights must sum to 100, they sum to {total:g}")
        return
    if len(primaries) != 1:
        raise InvalidInput(f"deployment {name!r}: needs exactly one primary variant, has {len(primaries)}")
    total = sum(v.weight for v in canaries)
    if total > 100.0 + 1e-6:
        raise InvalidInput(f"deployment {name!r}: canary weights sum to {total:g} %, more than 100")


def check_deployment_name(name: str) -> None:
    check_name(
        "deployment name",
        name,
        pattern=URI_NAME,
        allowed="use letters, digits, '_', '.', '-' (at most 256, starting with a letter or digit)",
    )


def _is_name(name: object) -> bool:
    return isinstance(name, str) and len(name) <= DEFAULT_MAX_LENGTH and URI_NAME.fullmatch(name) is not None


def variant_weight(variant: str, value: float) -> float:
    try:
        weight = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"variant {variant!r}: weight must be a number, got {value!r}") from None
    if not (math.isfinite(weight) and 0 <= weight <= 100):
        raise InvalidInput(f"variant {variant!r}: weight must be within 0-100, got {value!r}")
    return weight


def name_variants(variants: Sequence[DeploymentVariant]) -> list[DeploymentVariant]:
    """Give unnamed variants their mode's name (``primary``, ``canary``, ``canary-2``, ``a``, ``b``…)."""
    taken = {v.name for v in variants if v.name}
    named: list[DeploymentVariant] = []
    ab_index = 0
    for v in variants:
        if not v.name:
            if v.mode is VariantMode.AB:
                base = chr(ord("a") + ab_index) if ab_index < 26 else f"ab-{ab_index + 1}"
                ab_index += 1
            else:
                base = _DEFAULT_NAMES[v.mode]
            candidate, n = base, 1
            while candidate in taken:
                n += 1
                candidate = f"{base}-{n}"
            taken.add(candidate)
            v = replace(v, name=candidate)
        named.append(v)
    return named
