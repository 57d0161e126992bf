"""An app's background workers (gunicorn_background_workers, an entry's `background_workers`):
a template unit per kind and its instances, the instances and kinds an app dropped, what the
health step calls down, and the checks that refuse a bad worker before anything changes
(plugins/filter/app_workers.py, role_checks.py, plugins/modules/app_service.py)."""

from conftest import ROOT, app_check_problems, load_plugin, role_options

workers = load_plugin(ROOT / "plugins/filter/app_workers.py")
service = load_plugin(ROOT / "plugins/modules/app_service.py")
GUNICORN = role_options("gunicorn")
CELERY = {"name": "celery", "command": "celery -A shop worker", "count": 2}


def test_a_template_unit_per_kind_and_count_instances_with_the_spec_defaults():
    (item,) = workers.pyweb_worker_files([CELERY], "shop")
    assert item["dest"] == "/etc/systemd/system/shop.celery@.service"
    assert item["template_vars"]["gunicorn_worker"] == {**CELERY, "stop_signal": "SIGTERM", "stop_timeout": 30}
    assert (ROOT / "roles/gunicorn/templates" / item["template"]).is_file()
    assert workers.pyweb_worker_units([CELERY, {"name": "rq", "command": "rq worker"}], "shop") == [
        "shop.celery@1.service", "shop.celery@2.service", "shop.rq@1.service"]
    spec = GUNICORN["gunicorn_background_workers"]["options"]
    assert workers.WORKER_DEFAULTS == {key: spec[key]["default"] for key in workers.WORKER_DEFAULTS}


def test_instances_beyond_the_count_and_dropped_kinds_are_retired():
    wants = ["shop.celery@1.service", "shop.celery@2.service", "shop.celery@3.service", "shop.rq@1.service",
             "shop.service", "shopping.celery@1.service", "nginx.service"]
    templates = ["shop.celery@.service", "shop.rq@.service", "shop.service", "shop.purge.timer"]
    assert workers.pyweb_retired_workers(wants, templates, [CELERY], "shop") == {
        "units": ["shop.celery@3.service", "shop.rq@1.service"], "templates": ["shop.rq@.service"]}
    assert workers.pyweb_worker_instances(wants, "shop") == [
        "shop.celery@1.service", "shop.celery@2.service", "shop.celery@3.service", "shop.rq@1.service"]


def test_an_enabled_instance_that_restarted_or_stopped_is_down():
    show = ("Id=shop.celery@1.service\nActiveState=active\nNRestarts=0\nUnitFileState=enabled\n\n"
            "Id=shop.celery@2.service\nActiveState=active\nNRestarts=2\nUnitFileState=enabled\n\n"
            "Id=shop.rq@1.service\nActiveState=activating\nNRestarts=1\nUnitFileState=enabled\n\n"
            "Id=shop.old@1.service\nActiveState=inactive\nNRestarts=0\nUnitFileState=disabled\n")
    assert workers.pyweb_workers_down(show) == ["shop.celery@2.service (active, 2 restarts)",
                                                "shop.rq@1.service (activating, 1 restarts)"]
    assert workers.pyweb_workers_down("") == []


def test_a_deploy_restarts_the_workers_retires_the_dropped_and_clears_a_failed_one():
    params = {"service": "shop.service", "socket": "", "retire_socket": "", "daemon_reload": True,
              "recreate_socket": False, "restart": False, "reload": True,
              "workers": ["shop.celery@1.service", "shop.celery@2.service", "shop.celery@3.service"],
              "restart_workers": True, "retire_workers": ["shop.rq@1.service"]}
    states = {"shop.service": {"UnitFileState": "enabled", "ActiveState": "active"},
              "shop.celery@1.service": {"UnitFileState": "enabled", "ActiveState": "active"},
              "shop.celery@2.service": {"UnitFileState": "enabled", "ActiveState": "failed"},
              "shop.rq@1.service": {"UnitFileState": "enabled", "ActiveState": "active"}}
    commands, _started = service.plan(params, states)
    assert commands == [["stop", "shop.rq@1.service"], ["disable", "shop.rq@1.service"], ["daemon-reload"],
                        ["reload", "shop.service"],
                        ["reset-failed", "shop.celery@1.service"], ["restart", "shop.celery@1.service"],
                        ["reset-failed", "shop.celery@2.service"], ["start", "shop.celery@2.service"],
                        ["enable", "shop.celery@3.service"], ["start", "shop.celery@3.service"]]


def test_a_bad_worker_is_refused_by_name():
    def problems(*items):
        return app_check_problems(background_workers=list(items))

    assert problems(CELERY) == []
    assert any("gunicorn_background_workers[1].name must be" in p for p in problems(CELERY, CELERY))
    assert any("count must be 1 to 32" in p for p in problems({**CELERY, "count": 0}))
    assert any("command must be a non-empty command line on one line" in p
               for p in problems({**CELERY, "command": "a\nb"}))
    assert any("stop_signal" in p for p in problems({**CELERY, "stop_signal": "SIGKILL"}))
