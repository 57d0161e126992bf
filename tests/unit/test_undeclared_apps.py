"""Apps pyweb deployed on a host that no pyweb_apps list names any more (plugins/filter/pyweb_apps.py,
pyweb_undeclared_apps): reported on every run, and removed as state absent would with
pyweb_apps_remove_undeclared in a run that handles every app (roles/apps/vars/main.yml)."""

from conftest import ROOT, load_plugin, load_yaml

apps = load_plugin(ROOT / "plugins/filter/pyweb_apps.py")

RECORDS = ["/srv/shop/.pyweb-deployed.json", "/srv/blog/.pyweb-deployed.json", "/srv/old-api/.pyweb-deployed.json"]


def test_a_deployed_app_no_list_names_is_undeclared():
    entries = [{"name": "shop"}, {"name": "blog", "state": "absent"}]
    assert apps.pyweb_undeclared_apps(RECORDS, entries) == ["old-api"]
    assert apps.pyweb_undeclared_apps(RECORDS, entries, absent=True) == [{"name": "old-api", "state": "absent"}]


def test_no_record_or_every_app_declared_is_nothing_to_report():
    assert apps.pyweb_undeclared_apps([], [{"name": "shop"}]) == []
    assert apps.pyweb_undeclared_apps(RECORDS[:1], [{"name": "shop"}]) == []


def test_removal_is_opt_in_and_never_under_a_limit():
    variables = load_yaml(ROOT / "roles/apps/vars/main.yml")
    removals = variables["__apps_undeclared_removals"]
    assert "__apps_remove_undeclared | bool" in removals and "__apps_limit | length == 0" in removals
    assert "__apps_undeclared_removals" in variables["__apps_role_vars"]
    spec = load_yaml(ROOT / "roles/apps/meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    assert spec["pyweb_apps_remove_undeclared"] == {**spec["pyweb_apps_remove_undeclared"], "type": "bool", "default": False}
    # The record the glob finds is the one each deploy writes.
    assert variables["__apps_record_file"].endswith("/.pyweb-deployed.json")
    assert variables["__apps_records_glob"].endswith("/*/.pyweb-deployed.json")
