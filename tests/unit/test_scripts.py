"""The platform scripts run on bare machines in CI; a syntax error there costs a whole CI run."""

import shutil
import subprocess

import pytest

from conftest import ROOT

SCRIPTS = sorted([*ROOT.glob("scripts/*.sh"), ROOT / ".ci" / "run"])


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_script_parses(script):
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed")
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_script_passes_shellcheck(script):
    result = subprocess.run(["shellcheck", "-x", "-S", "warning", str(script)], capture_output=True, text=True,
                            cwd=script.parent)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("action", ["", "bogus"])
def test_scripts_refuse_unknown_actions(action):
    for name in ("engine.sh", "demo.sh", "host.sh"):
        result = subprocess.run(["bash", str(ROOT / "scripts" / name), action], capture_output=True, text=True)
        assert result.returncode == 2 and "usage" in result.stderr
