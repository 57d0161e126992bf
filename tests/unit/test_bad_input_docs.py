"""docs/bad-input.md is generated from molecule/default/tests/bad_variables.yml and the messages
its test recorded; a case added, changed or removed there makes it stale. A run's messages, which
`make test` records beside these tests, never make it stale: they may differ from run to run."""

import importlib.util
import subprocess
import sys

from conftest import ROOT

SCRIPT = ROOT / "scripts" / "bad_input_docs.py"


def load_script():
    spec = importlib.util.spec_from_file_location("bad_input_docs", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bad_input_page_is_up_to_date():
    result = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, check=False, text=True)
    assert result.returncode == 0, result.stderr


def test_a_run_recording_other_messages_leaves_the_check_passing(tmp_path, monkeypatch):
    docs = load_script()
    recorded = tmp_path / "bad-input-messages.json"
    recorded.write_text('{"cases": {"%s": "another wording"}, "run": {"commit": "x"}}' % docs.load_cases()[0]["id"])
    monkeypatch.setattr(docs, "MESSAGES", recorded)
    wanted, current = docs.expected_doc(use_recorded=False)
    assert wanted == current
    assert docs.expected_doc()[0] != current


def test_page_lists_every_case():
    docs = load_script()
    page = (ROOT / "docs" / "bad-input.md").read_text()
    cases = docs.load_cases()
    assert len(cases) >= 15
    for case in cases:
        assert f"| `{case['id']}`: " in page, case["id"]


def test_messages_survive_a_rewrite_without_a_recorded_run():
    # Without .state/ (CI), the page's own messages are kept: parsing a page and rendering it again
    # gives the same page, pipes and angle brackets included.
    docs = load_script()
    cases = docs.load_cases()[:2]
    cells = {cases[0]["id"]: docs.cell("argument 'x' is <class 'list'> | not a dict")}
    page = docs.render(cases, cells, docs.PROVENANCE + "commit abc, 2026-01-01.")
    parsed_cells, provenance = docs.doc_state(page)
    assert parsed_cells == cells
    assert docs.render(cases, parsed_cells, provenance) == page
