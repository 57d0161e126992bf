"""Shared fixtures for the fast unit tests: no containers, no network."""

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "meta" / "argument_specs.yml").exists())


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text())
