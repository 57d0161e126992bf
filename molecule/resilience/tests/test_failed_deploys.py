"""Failed deploys under load: a release that cannot import and a release whose health path fails
are each refused before they go live (roles/apps/tasks/app_deploy.yml), and no request fails on
the way. Runs before test_zero_downtime.py (file order), on the converged host's sync-api.

Why it exists: switching back is half the promise; the other half is what clients see meanwhile.
A release that cannot import is refused by the import check. A release whose health path fails
is refused by the preview: its own server, on a private socket, is asked the health path before
`current` switches. Neither answers a single client request: the load counts them.
"""

import json
import re
import shutil
import time

from conftest import ROOT, SERVER_NAME, Load, report, request, run_playbook, sync_api_entry

PATH = "/sync-api/hello"
RATE = 100


def version_of(body):
    return json.loads(body)["version"]


def broken_release(tmp_path, name, edit):
    src = tmp_path / name
    shutil.copytree(ROOT / "examples/apps/sync_api", src, ignore=shutil.ignore_patterns("__pycache__"))
    (src / "app.py").write_text(edit((src / "app.py").read_text()))
    return src


def cannot_import(code):
    return re.sub(r'^VERSION = ".*"$', 'VERSION = "cannot-import"\nimport no_such_module', code, flags=re.M)


def unhealthy(code):
    code = re.sub(r'^VERSION = ".*"$', 'VERSION = "unhealthy"', code, flags=re.M)
    return code.replace('return jsonify(status="ok", app=APP_NAME)', 'return jsonify(status="broken", app=APP_NAME), 503')


def test_failed_deploys_under_load_fail_no_request_and_serve_the_previous_release(address, tmp_path, nginx_errors):
    live = version_of(request(address, SERVER_NAME, PATH)[2])
    cases = {"check": cannot_import, "preview": unhealthy}
    times = {}
    with Load(address, SERVER_NAME, PATH, rate=RATE, duration=1800, connections=8, tag=version_of) as load:
        time.sleep(5)
        for step, edit in cases.items():
            src = broken_release(tmp_path, step.replace(" ", "-"), edit)
            started = time.monotonic()
            out = run_playbook("apps.yml", {"pyweb_apps": [sync_api_entry(src)], "pyweb_apps_limit": ["sync-api"],
                                            "gunicorn_health_retries": 5}, expect_success=False)
            times[step] = time.monotonic() - started
            assert f"failed at the {step} step" in out, out[-3000:]
            assert "sync-api serves it (/healthz answers 2xx)." in out
        time.sleep(5)
    result = load.result
    tags = result.tags()

    report("failed_deploys", result.summary())
    for step, seconds in times.items():
        report(f"failed_deploy_at_{step.replace(' ', '_')}_s", round(seconds, 1))
    report("failed_deploys_failed_requests", len(result.failures))
    report("unhealthy_release_answered", tags.get("unhealthy", 0))
    assert result.failures == [], (f"failed requests: {result.outcomes()}; first: {result.failures[:5]}; "
                                   f"Nginx's errors meanwhile (last 10): {nginx_errors()[-10:]}")
    assert "cannot-import" not in tags, "a release that failed its import check answered clients"
    assert "unhealthy" not in tags, f"a release that failed its preview answered {tags['unhealthy']} requests"
    assert set(tags) == {live}, tags
