"""Serving one variant of a deployment, for a platform that splits traffic between servers itself.

KServe gives its latest revision ``canaryTrafficPercent`` of the requests and the previous
revision the rest. If both revisions ran the deployment's own canary split as well, a 20 % canary
would be split twice (20 % of KServe's 20 % from one revision, plus 20 % of the other 80 %). So
each exported revision runs ``modelyard serve NAME --variant V``: ``pin_variant`` gives variant
``V`` all of that server's traffic and every other canary or A/B variant none.

The deployment's other variants stay loaded, so its shadows still get copies and the canary
watcher can still compare a canary with the primary. When ``V`` is gone (the canary was promoted
or rolled back), the server answers with the deployment as stored, so a promotion or rollback made
from the CLI reaches every revision at once, before the next export is applied.
"""

from __future__ import annotations

from dataclasses import replace

from modelyard.domain.serving import Deployment, VariantMode

SPLIT_MODES = (VariantMode.CANARY, VariantMode.AB)


def pin_variant(deployment: Deployment, name: str) -> Deployment:
    """``deployment`` with all of its traffic on variant ``name`` (unchanged if it has no such variant)."""
    chosen = deployment.variant(name)
    if chosen is None or chosen.mode is VariantMode.SHADOW:
        return deployment
    if chosen.mode is VariantMode.PRIMARY and any(v.mode is VariantMode.AB for v in deployment.variants):
        return deployment  # A/B variants take all traffic; no primary share to pin
    variants = tuple(
        replace(v, weight=100.0 if v.name == name else 0.0) if v.mode in SPLIT_MODES else v for v in deployment.variants
    )
    return replace(deployment, variants=variants)
