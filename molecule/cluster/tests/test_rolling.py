"""Rolling deploys across the two app hosts (playbooks/rolling_deploy.yml), under light load
through the load balancer. Runs after test_cluster.py (file order): it changes the releases."""

import re
import shutil

import pytest
from conftest import ROOT, steady_load

testinfra_hosts = ["ansible://pyweb-lb"]
APP_HOSTS = {"pyweb-app1", "pyweb-app2"}


def sync_api(tmp_path, name, edit):
    """The Flask example with an edit applied, as a pyweb_apps__sync_app entry."""
    src = tmp_path / name
    shutil.copytree(ROOT / "examples/apps/sync_api", src, ignore=shutil.ignore_patterns("__pycache__"))
    (src / "app.py").write_text(edit((src / "app.py").read_text()))
    return {"pyweb_apps__sync_app": [{
        "name": "sync-api", "src": str(src), "app_module": "app:app", "profile": "io", "worker_class": "gthread",
        "bind": "{{ pyweb_private_address }}:{{ pyweb_ports['sync-api'] }}",
        "forwarded_allow_ips": "{{ groups['lb'] | map('extract', hostvars, 'pyweb_private_address') | join(',') }}",
        "secrets": {"SECRET_KEY": "cluster-test-only"},
    }], "pyweb_apps_limit": ["sync-api"]}


def versions_by_host(get_json, requests=12):
    seen = {}
    for _unused in range(requests):
        status, body = get_json("/sync-api/hello")
        assert status == 200
        seen[body["host"]] = body["version"]
    return seen


def with_version(version):
    return lambda code: re.sub(r'^VERSION = "1"$', f'VERSION = "{version}"', code, flags=re.M)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("rolling")


def test_rolling_deploy_under_load_fails_no_request(lb, get_json, playbook, workdir):
    with steady_load(lb, "/sync-api/hello") as statuses:
        out = playbook("rolling_deploy.yml", sync_api(workdir, "v2", with_version("2")))
    assert len(statuses) > 50, "the load ran too briefly to prove anything"
    assert [s for s in statuses if s != "200"] == [], f"failed requests during the rollout: {statuses}"
    assert versions_by_host(get_json) == {"pyweb-app1": "2", "pyweb-app2": "2"}
    # serial: one host per batch, in inventory order.
    assert out.index("pyweb-app1") < out.index("pyweb-app2")


def test_a_host_failing_its_health_gate_is_rolled_back_and_the_rollout_stops(lb, get_json, playbook, workdir):
    def broken(code):
        code = with_version("3")(code)
        return code.replace('return jsonify(status="ok", app=APP_NAME)',
                            'return jsonify(status="broken", app=APP_NAME), 503')

    extra = sync_api(workdir, "v3-broken", broken)
    extra["gunicorn_health_retries"] = 3
    with steady_load(lb, "/sync-api/hello") as statuses:
        out = playbook("rolling_deploy.yml", extra, expect_success=False)
    assert "pyweb-app1 failed its deploy" in out
    assert "rolled back sync-api" in out
    # The first host is back on the good release, the second was never touched.
    assert versions_by_host(get_json) == {"pyweb-app1": "2", "pyweb-app2": "2"}
    assert "Hosts after it were not touched." in out
    assert [s for s in statuses if s != "200"] == []


def test_a_host_whose_new_environment_breaks_the_app_is_switched_back_and_the_rollout_stops(
        lb, app_hosts, get_json, playbook, workdir):
    """The code that serves, with one new environment value that no Python starts with (a typo'd
    encoding): the first host's import check runs with it and fails, its environment is put back,
    and the second host never sees the value."""
    extra = sync_api(workdir, "v2-bad-env", with_version("2"))
    extra["pyweb_apps__sync_app"][0]["env"] = {"PYTHONIOENCODING": "utf-9"}
    with steady_load(lb, "/sync-api/hello") as statuses:
        out = playbook("rolling_deploy.yml", extra, expect_success=False)
    assert "pyweb-app1 failed its deploy" in out
    assert "unknown encoding: utf-9" in out, "the play should show why the app did not start"
    assert "Hosts after it were not touched." in out
    assert versions_by_host(get_json) == {"pyweb-app1": "2", "pyweb-app2": "2"}
    for name, host in app_hosts.items():
        environment = host.file("/etc/pyweb/sync-api/environment").content_string
        assert "PYTHONIOENCODING" not in environment, f"{name} kept the broken environment"
    assert [s for s in statuses if s != "200"] == []
