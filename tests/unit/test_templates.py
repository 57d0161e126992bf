"""House rules that hold for every template in the collection."""

import pytest

from conftest import ROOT

# Under hidden folders (.venv, .state, .ansible) lie copies, not sources.
TEMPLATES = sorted(p for p in ROOT.glob("**/templates/**/*.j2")
                   if not any(part.startswith(".") for part in p.relative_to(ROOT).parts))


def test_there_are_templates():
    assert TEMPLATES


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_template_starts_with_the_ansible_managed_comment(path):
    lines = path.read_text().splitlines()
    # A shebang, or an XML/HTML declaration, has to stay first; the marker then comes right after.
    head = lines[1:3] if lines and lines[0].startswith(("#!", "<!")) else lines[:2]
    assert any("ansible_managed" in line for line in head), f"{path} does not open with ansible_managed"


NGINX_SNIPPETS = sorted((ROOT / "templates" / "nginx").glob("*.j2"))


def test_there_are_nginx_snippet_examples():
    assert NGINX_SNIPPETS


@pytest.mark.parametrize("path", NGINX_SNIPPETS, ids=lambda p: p.name)
def test_nginx_snippet_example_is_described_in_the_templates_readme(path):
    assert path.name in (ROOT / "templates" / "README.md").read_text()
