"""The platform scripts run on bare machines in CI; a syntax error there costs a whole CI run."""

import re
import shutil
import subprocess

import pytest

from conftest import ROOT, load_yaml

SCRIPTS = sorted([*ROOT.glob("scripts/*.sh"), ROOT / ".ci" / "run"])


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_script_parses(script):
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, check=False, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed")
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_script_passes_shellcheck(script):
    result = subprocess.run(["shellcheck", "-x", "-S", "warning", str(script)], capture_output=True, check=False, text=True,
                            cwd=script.parent)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("action", ["", "bogus"])
def test_scripts_refuse_unknown_actions(action):
    for name in ("engine.sh", "demo.sh", "host.sh", "cache.sh"):
        result = subprocess.run(["bash", str(ROOT / "scripts" / name), action], capture_output=True, check=False, text=True)
        assert result.returncode == 2 and "usage" in result.stderr


SCENARIOS = sorted(p.parent.name for p in ROOT.glob("molecule/*/molecule.yml"))


def test_lanes_refuse_no_lane_and_unknown_scenarios():
    lanes = ROOT / "scripts" / "lanes.sh"
    result = subprocess.run(["bash", str(lanes)], capture_output=True, check=False, text=True)
    assert result.returncode == 2 and "usage" in result.stderr
    result = subprocess.run(["bash", str(lanes), "default,bogus"], capture_output=True, check=False, text=True)
    assert result.returncode == 2 and "no scenario 'bogus'" in result.stderr


def make_lanes():
    match = re.search(r"^LANES \?= (.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert match, "Makefile sets no default LANES"
    return [name for lane in match.group(1).split() for name in lane.split(",")]


# Scenarios too long for `make test`, run by hand (their molecule.yml says why and how).
BY_HAND = ["upgrade"]


def test_make_lanes_hold_every_scenario_once_on_the_default_release():
    """A scenario missing from LANES would silently never run in `make test`."""
    assert sorted(name for name in make_lanes() if "@" not in name and not name.startswith("make:")) == sorted(
        set(SCENARIOS) - set(BY_HAND))


def test_make_lanes_run_the_benchmark_smoke_run():
    """`make test` runs bench-smoke only as a lane entry, after the checks."""
    assert "make:bench-smoke" in make_lanes()
    recipe = re.search(r"^test: .*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.MULTILINE).group(1)
    assert recipe.splitlines()[-1].split()[-1] == "molecule" and "checks hosts" in recipe


def test_make_lanes_run_default_and_apps_on_debian_12_too():
    assert sorted(name.split("%")[0] for name in make_lanes() if "@" in name) == ["apps@12", "default@12"]


def test_make_lanes_run_a_scenario_on_the_oldest_ansible_core():
    assert [name for name in make_lanes() if name.endswith("%oldest")] == ["default@12%oldest"]


def test_lanes_refuse_an_unknown_suffix():
    result = subprocess.run(["bash", str(ROOT / "scripts" / "lanes.sh"), "default%newest"], capture_output=True, check=False, text=True)
    assert result.returncode == 2 and "only suffix" in result.stderr


def test_lanes_refuse_an_unknown_release():
    result = subprocess.run(["bash", str(ROOT / "scripts" / "lanes.sh"), "default@11"], capture_output=True, check=False, text=True)
    assert result.returncode == 2 and "must be 12 or 13" in result.stderr


# The host settings live once, in molecule/resources/vars/platform.yml; a scenario names its hosts
# (and `upgrade`, which starts on Debian 12 whatever PYWEB_DEBIAN says, its image).
PLATFORM_KEYS = {"name", "groups", "published_ports", "networks", "hostname"}
IMAGE_SCENARIOS = {"upgrade"}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenarios_take_host_settings_from_the_shared_platform(scenario):
    platforms = load_yaml(ROOT / "molecule" / scenario / "molecule.yml")["platforms"]
    allowed = PLATFORM_KEYS | ({"image"} if scenario in IMAGE_SCENARIOS else set())
    for platform in platforms:
        assert set(platform) <= allowed, f"{platform['name']}: {sorted(set(platform) - allowed)}"


def test_shared_platform_is_the_create_step_of_every_scenario():
    config = load_yaml(ROOT / ".config" / "molecule" / "config.yml")
    assert config["provisioner"]["playbooks"]["create"] == "../resources/create.yml"
    platform = load_yaml(ROOT / "molecule" / "resources" / "vars" / "platform.yml")["pyweb_platform"]
    assert "SYS_RESOURCE" not in platform["capabilities"] and "privileged" not in platform


def test_make_image_builds_every_release_the_lanes_run_on():
    """`make setup` builds the images through RELEASES: when it comes out empty, a bare machine
    has no test-host image and every scenario fails at its create step."""
    result = subprocess.run(["make", "--no-print-directory", "-n", "image"], cwd=ROOT, capture_output=True,
                            check=True, text=True)
    assert "for release in 12 13;" in result.stdout
