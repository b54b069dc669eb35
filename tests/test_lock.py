"""requirements.lock is the environment CI runs: it must satisfy what pyproject.toml asks for."""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"


def load_lockcheck():
    spec = importlib.util.spec_from_file_location("lockcheck", ROOT / ".ci" / "lockcheck.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lockcheck = load_lockcheck()


def declared() -> list[Requirement]:
    """fercli's requirements and its dev extra, as installed from pyproject.toml."""
    return [Requirement(r) for r in md.requires("fercli") or []]


def test_pins_parse_lock_and_freeze_spellings():
    lines = [
        "# comment",
        "PyYAML==6.0.4",
        "opencv_python==5.1.0.95   # via fercli (pyproject.toml)",
        "    # via requests",
        "fercli @ file:///x",
        "",
    ]
    assert lockcheck.pins(lines) == {"pyyaml": "6.0.4", "opencv-python": "5.1.0.95"}


@pytest.mark.parametrize("requirement", declared(), ids=str)
def test_lock_pins_every_declared_dependency_within_its_range(requirement: Requirement):
    locked = lockcheck.pins(LOCK.read_text().splitlines())
    name = lockcheck.normalise(requirement.name)
    assert name in locked, f"{name} missing from requirements.lock: run `make lock`"
    assert requirement.specifier.contains(locked[name], prereleases=True), (
        f"requirements.lock pins {name}=={locked[name]}, outside {requirement}: run `make lock`"
    )


def test_lock_pins_the_constrained_torch():
    locked = lockcheck.pins(LOCK.read_text().splitlines())
    constraints = lockcheck.pins((ROOT / "constraints.txt").read_text().splitlines())
    assert constraints and all(locked[name] == v for name, v in constraints.items())
