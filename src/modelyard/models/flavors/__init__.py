"""Flavors: one module per kind of model object, each saving and loading its own files.

``registry`` holds the ordered list used for detection; ``base`` is what a new flavor implements.
"""

from modelyard.models.flavors.base import Flavor as Flavor
from modelyard.models.flavors.base import LoadedModel as LoadedModel
from modelyard.models.flavors.registry import FLAVORS as FLAVORS
from modelyard.models.flavors.registry import detect_flavor as detect_flavor
from modelyard.models.flavors.registry import flavor_names as flavor_names
from modelyard.models.flavors.registry import get_flavor as get_flavor

__all__ = ["FLAVORS", "Flavor", "LoadedModel", "detect_flavor", "flavor_names", "get_flavor"]
