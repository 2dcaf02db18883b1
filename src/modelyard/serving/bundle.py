"""What an exported image or a CI job installs: a wheel of the running modelyard, and every other
requirement pinned to the version running here.

No package index holds modelyard, so ``pip install modelyard`` fails on a fresh machine: exports
carry the code that runs here as a wheel instead. ``modelyard_wheel`` makes it

- from the source tree, when modelyard is imported from a checkout (``<root>/src/modelyard`` beside
  a ``pyproject.toml`` naming it): the project's own build backend, through
  ``pip wheel --no-deps`` on a copy of the tree (the checkout gets no ``build/`` or ``egg-info``),
  so uncommitted changes ship too and the metadata is the ``pyproject.toml``'s;
- from the installed distribution otherwise: its package files and ``dist-info`` metadata zipped
  back into a wheel (what ``pip install`` unpacked, minus bytecode).

Wheels are cached under ``$XDG_CACHE_HOME/modelyard/wheels`` by the digest of what went in, so
repeated exports of unchanged code reuse one build.

``pinned_requirements`` walks the requirements of the wheel (its extras included) and of the
models through the installed distributions' metadata, and pins each to the installed version: the
image runs what was tested here, not whatever the index serves on build day.
"""

from __future__ import annotations

import base64
import csv
import email.parser
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from filelock import FileLock
from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

from modelyard.errors import InvalidInput, ModelyardError

DISTRIBUTION = "modelyard"
PACKAGE_DIR = Path(__file__).resolve().parents[1]  # the modelyard package this module was imported from
_BUILD_TIMEOUT_S = 600
_PROJECT_FILES = ("pyproject.toml", "README.md", "LICENSE", "LICENSE.txt", "NOTICE", "setup.cfg", "MANIFEST.in")
# Written by the installer, not part of what a wheel ships (PEP 376, PEP 610).
_INSTALLER_FILES = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}


def source_root(package_dir: Path | None = None) -> Path | None:
    """The checkout modelyard is imported from (``<root>/src/modelyard``), or ``None`` when it
    runs from an installed distribution."""
    package = package_dir or PACKAGE_DIR
    root = package.parent.parent
    if package.parent.name != "src" or not is_project(root, DISTRIBUTION):
        return None
    return root


def is_project(root: Path, name: str) -> bool:
    """Whether ``root/pyproject.toml`` declares the project ``name``."""
    try:
        declared = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["name"]
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError):
        return False
    return isinstance(declared, str) and canonicalize_name(declared) == canonicalize_name(name)


def modelyard_wheel() -> Path:
    """A wheel of the modelyard running here, in the cache; callers copy it where it ships."""
    package = PACKAGE_DIR
    root = source_root(package)
    if root is not None:
        inputs = [root / f for f in _PROJECT_FILES if (root / f).is_file()]
        digest = _digest(root, [*inputs, *_package_files(package)])
        return _cached(digest, lambda out: _build_from_source(root, package, inputs, out))
    dist = _installed_distribution()
    digest = _digest(package.parent, [*_package_files(package)], extra=dist.read_text("METADATA") or dist.version)
    return _cached(digest, lambda out: wheel_from_installed(dist, package, out))


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "modelyard" / "wheels"


def _cached(digest: str, build: Callable[[Path], Path]) -> Path:
    folder = _cache_dir() / digest[:24]
    found = sorted(folder.glob("*.whl")) if folder.is_dir() else []
    if found:
        return found[0]
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):  # concurrent exports of the same code wait for one build
        found = sorted(folder.glob("*.whl")) if folder.is_dir() else []
        if found:
            return found[0]
        staging = Path(tempfile.mkdtemp(prefix=".building-", dir=folder.parent))
        try:
            wheel = build(staging)
            shutil.rmtree(folder, ignore_errors=True)  # a build interrupted before its wheel was written
            staging.rename(folder)  # a reader without the lock sees a whole wheel or none
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return folder / wheel.name


def _package_files(package: Path) -> Iterator[Path]:
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo"):
            yield path


def _digest(base: Path, files: Iterable[Path], *, extra: str = "") -> str:
    sha = hashlib.sha256(extra.encode())
    for path in files:
        sha.update(str(path.relative_to(base)).encode() + b"\0" + path.read_bytes() + b"\0")
    return sha.hexdigest()


def _build_from_source(root: Path, package: Path, inputs: Sequence[Path], out: Path) -> Path:
    with tempfile.TemporaryDirectory(prefix="modelyard-src-") as scratch:
        tree = Path(scratch) / "tree"
        (tree / "src").mkdir(parents=True)
        for path in inputs:
            shutil.copy2(path, tree / path.name)
        shutil.copytree(package, tree / "src" / package.name, ignore=shutil.ignore_patterns("__pycache__", "*.py[co]"))
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out), str(tree)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=_BUILD_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ModelyardError(f"could not build a wheel of modelyard from {root}: {exc}") from exc
    wheels = sorted(out.glob(f"{DISTRIBUTION}-*.whl"))
    if done.returncode != 0 or not wheels:
        last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or ["no wheel written"]
        raise ModelyardError(f"could not build a wheel of modelyard from {root} with pip: {last[0]}")
    return wheels[0]


def _installed_distribution() -> metadata.Distribution:
    try:
        return metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError as exc:
        raise InvalidInput(
            "modelyard runs from neither a checkout nor an installed distribution: install it with pip to export"
        ) from exc


def wheel_from_installed(dist: metadata.Distribution, package: Path, out: Path) -> Path:
    """The installed distribution ``dist`` zipped back into a wheel in ``out``: the files of its
    ``package`` folder (no bytecode) and its ``dist-info`` (without the installer's records)."""
    version = dist.version
    info = f"{DISTRIBUTION}-{version}.dist-info"
    entries: dict[str, bytes] = {}
    for path in _package_files(package):
        entries[f"{package.name}/{path.relative_to(package).as_posix()}"] = path.read_bytes()
    for name in _dist_info_names(dist):
        text = dist.read_text(name)
        if text is not None:
            entries[f"{info}/{name}"] = text.encode("utf-8")
    entries[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: modelyard (rebuilt from the installed distribution)\n"
        b"Root-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for name, data in entries.items():
        hashed = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        writer.writerow([name, f"sha256={hashed}", len(data)])
    writer.writerow([f"{info}/RECORD", "", ""])
    wheel = out / f"{DISTRIBUTION}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        archive.writestr(f"{info}/RECORD", record.getvalue())
    return wheel


def _dist_info_names(dist: metadata.Distribution) -> list[str]:
    """The metadata files of ``dist`` a wheel carries, relative to its ``dist-info`` folder."""
    names = []
    for file in dist.files or []:
        parts = file.parts
        if len(parts) >= 2 and parts[0].endswith(".dist-info") and parts[-1] not in _INSTALLER_FILES:
            names.append("/".join(parts[1:]))
    return names or ["METADATA", "entry_points.txt"]


def wheel_requirements(wheel: Path) -> tuple[str, list[str]]:
    """The version and ``Requires-Dist`` lines of ``wheel``'s metadata."""
    with zipfile.ZipFile(wheel) as archive:
        [name] = [n for n in archive.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
        meta = email.parser.Parser().parsestr(archive.read(name).decode("utf-8"), headersonly=True)
    return str(meta["Version"]), list(meta.get_all("Requires-Dist") or [])


@dataclass
class _Pins:
    """Distributions met while walking requirements, by normalized name."""

    versions: dict[NormalizedName, tuple[str, str]] = field(default_factory=dict)  # name -> (display, version)
    extras: dict[NormalizedName, set[str]] = field(default_factory=dict)
    verbatim: dict[NormalizedName, str] = field(default_factory=dict)  # kept as given: not installed, or differs
    seen: set[tuple[NormalizedName, frozenset[str]]] = field(default_factory=set)

    def lines(self) -> list[str]:
        out = []
        for name, (display, version) in sorted(self.versions.items()):
            if name in self.verbatim:
                continue
            extras = sorted(self.extras.get(name, ()))
            out.append(f"{display}{'[' + ','.join(extras) + ']' if extras else ''}=={version}")
        return out


def pinned_requirements(requires: Sequence[str], extras: Iterable[str], models: Sequence[str] = ()) -> list[str]:
    """``requires`` (with ``extras`` active) and the models' requirements, with everything they pull
    in, as ``name==installed version``; a model requirement the installed version does not satisfy,
    or one that is not installed, stays as the model recorded it."""
    pins = _Pins()
    environment = {key: str(value) for key, value in default_environment().items()}
    _walk(pins, requires, frozenset(extras), environment)
    unparsed = []
    for line in dict.fromkeys(r.strip() for r in models if r.strip()):
        try:
            req = Requirement(line)
        except InvalidRequirement:
            unparsed.append(line)
            continue
        name = canonicalize_name(req.name)
        installed = _installed(req.name)
        if req.url is None and installed is not None and req.specifier.contains(installed.version, prereleases=True):
            _walk(pins, [line], frozenset(), environment)
        else:
            pins.verbatim[name] = line
    return [*pins.lines(), *sorted(pins.verbatim.values()), *unparsed]


def _walk(pins: _Pins, requires: Iterable[str], extras: frozenset[str], environment: dict[str, str]) -> None:
    for text in requires:
        req = Requirement(text)
        if req.marker is not None and not any(
            req.marker.evaluate({**environment, "extra": extra}) for extra in (extras or {""})
        ):
            continue
        name = canonicalize_name(req.name)
        key = (name, frozenset(req.extras))
        if name == DISTRIBUTION or key in pins.seen:
            continue
        pins.seen.add(key)
        dist = _installed(req.name)
        if dist is None:
            pins.verbatim.setdefault(name, str(req).split(";")[0].strip())
            continue
        pins.versions[name] = (str(dist.metadata["Name"]), dist.version)
        pins.extras.setdefault(name, set()).update(req.extras)
        _walk(pins, dist.requires or [], frozenset(req.extras), environment)


def _installed(name: str) -> metadata.Distribution | None:
    try:
        return metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return None
