"""Explainers for the models a server serves: built once per loaded model, on first use, then kept.

Building one imports shap and walks the model (a tree explainer reads every tree), so it happens
on the first explain request for a variant, not when a plan loads: servers that never explain
never import shap. A plan swap that loads a new predictor gets a new explainer; explainers of
predictors no plan serves any more are dropped when the plan in force changes. Linear and
permutation explainers take the model's logged input example as their baseline rows.
"""

from __future__ import annotations

import threading

from modelyard.explain import Explainer, explainer_for
from modelyard.models import Predictor
from modelyard.serving.plan import PlanHolder


class ExplainerCache:
    """One ``Explainer`` per served ``Predictor`` (by identity), built at most once."""

    def __init__(self, holder: PlanHolder) -> None:
        self._holder = holder
        self._lock = threading.Lock()
        self._built: dict[int, tuple[Predictor, Explainer]] = {}
        self._building: dict[int, threading.Lock] = {}
        self._generation = holder.generation

    def get(self, predictor: Predictor) -> Explainer:
        """The explainer of ``predictor``; the first caller builds it, concurrent callers wait for it."""
        key = id(predictor)
        with self._lock:
            self._prune()
            found = self._built.get(key)
            if found is not None and found[0] is predictor:
                return found[1]
            building = self._building.setdefault(key, threading.Lock())
        with building:
            with self._lock:
                found = self._built.get(key)
                if found is not None and found[0] is predictor:
                    return found[1]
            explainer = explainer_for(predictor)
            with self._lock:
                self._built[key] = (predictor, explainer)
                self._building.pop(key, None)
            return explainer

    def _prune(self) -> None:
        """Forget explainers of predictors the plan in force no longer serves (called under the lock)."""
        generation = self._holder.generation
        if generation == self._generation:
            return
        self._generation = generation
        served = {id(v.predictor) for d in self._holder.current.deployments.values() for v in d.variants}
        self._built = {k: v for k, v in self._built.items() if k in served}
