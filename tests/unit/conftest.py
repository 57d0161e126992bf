"""Shared fixtures for the fast unit tests: no containers, no network."""

import importlib.util
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


def load_plugin(path: Path):
    """A plugin or helper file of the roles, imported as a module by its path."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def role_template_vars(role: str) -> dict:
    """A role's defaults and vars, their strings marked as templates as Ansible does for a role's
    own files, for rendering its templates with Ansible's own templating."""
    from ansible.template import trust_as_template

    def trusted(value):
        if isinstance(value, str):
            return trust_as_template(value)
        if isinstance(value, dict):
            return {key: trusted(item) for key, item in value.items()}
        if isinstance(value, list):
            return [trusted(item) for item in value]
        return value

    role_dir = ROOT / "roles" / role
    return {**trusted(load_yaml(role_dir / "defaults" / "main.yml")),
            **trusted(load_yaml(role_dir / "vars" / "main.yml"))}


def render_template(path: Path, variables: dict) -> str:
    """One template file rendered by Ansible's templating with these variables."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar, trust_as_template

    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(path.read_text()))
