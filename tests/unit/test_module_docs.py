"""Every module's documentation (plugins/modules/*.py) is YAML that ansible-doc can read, with the
options the module or its action plugin takes; a broken one only shows as an error in ansible-doc
and ansible-lint's output."""

import ast

import pytest
import yaml

from conftest import ROOT

MODULES = sorted((ROOT / "plugins" / "modules").glob("*.py"))


def blocks(path):
    tree = ast.parse(path.read_text())
    return {node.targets[0].id: node.value.value for node in tree.body
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") in ("DOCUMENTATION", "EXAMPLES", "RETURN")}


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.stem)
def test_documentation_parses_and_names_the_module(path):
    found = blocks(path)
    assert set(found) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}
    documentation = yaml.safe_load(found["DOCUMENTATION"])
    assert documentation["module"] == path.stem
    assert documentation["short_description"] and documentation["description"]
    for name, option in (documentation.get("options") or {}).items():
        assert option.get("description"), f"{path.stem}: option {name} has no description"
    examples = yaml.safe_load(found["EXAMPLES"])
    assert any(f"pyweb.stack.{path.stem}" in task for task in examples)
    yaml.safe_load(found["RETURN"])
