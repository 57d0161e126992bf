"""Apps that would take over the host's own units, accounts or groups are refused before anything
changes (plugins/filter/pyweb_apps.py, pyweb_app_host_conflicts), while an app's own user, group
and units, made by an earlier deploy, pass."""

from conftest import ROOT, load_plugin

apps = load_plugin(ROOT / "plugins/filter/pyweb_apps.py")

PASSWD = {
    "root": ["x", "0", "0", "root", "/root", "/bin/bash"],
    "www-data": ["x", "33", "33", "www-data", "/var/www", "/usr/sbin/nologin"],
    "deploy": ["x", "1000", "1000", "", "/home/deploy", "/bin/bash"],
    "shop": ["x", "998", "998", "", "/srv/shop", "/usr/sbin/nologin"],
}
GROUPS = {"root": ["x", "0", ""], "www-data": ["x", "33", ""], "shop": ["x", "998", ""], "deploy": ["x", "1000", ""]}


def app(name, user=None, group=None):
    return {"name": name, "app": {"app_base_dir": "/srv", "app_user": user or name, "app_group": group or name}}


def conflicts(selected, states=None, contents=None):
    return apps.pyweb_app_host_conflicts(selected, PASSWD, GROUPS, states or {}, contents or {})


def test_an_app_and_its_own_user_group_and_units_pass():
    contents = {"/etc/systemd/system/shop.service": "ExecStart=/srv/shop/venvs/abc/bin/gunicorn ...\n",
                "/etc/systemd/system/shop.socket": "Description=Listening socket of shop (Gunicorn)\n"}
    assert conflicts([app("shop")], contents=contents) == []
    assert conflicts([app("newapp")]) == []


def test_existing_accounts_and_groups_are_refused_by_name():
    found = conflicts([app("api", user="deploy"), app("web", user="www-data", group="www-data"), app("x", user="root")])
    assert any(p.startswith("api: user (app_user) deploy is an existing account") and "/home/deploy" in p for p in found)
    assert any(p.startswith("web: user (app_user) www-data") for p in found)
    assert any(p.startswith("web: group (app_group) www-data") for p in found)
    assert any(p.startswith("x: user (app_user) root") for p in found)


def test_a_package_unit_of_the_same_name_is_refused():
    states = {"/lib/systemd/system/nginx.service": {"exists": True}}
    (problem,) = conflicts([app("nginx")], states=states)
    assert problem.startswith("nginx: a package's unit /lib/systemd/system/nginx.service")


def test_a_local_unit_someone_else_wrote_is_refused():
    contents = {"/etc/systemd/system/backup.service": "[Service]\nExecStart=/usr/local/bin/backup\n"}
    (problem,) = conflicts([app("backup")], contents=contents)
    assert "/etc/systemd/system/backup.service exists and is not this app's" in problem


def test_unit_paths_cover_package_and_local_folders():
    paths = apps.pyweb_app_unit_paths([app("shop")])
    assert "/lib/systemd/system/shop.service" in paths and "/etc/systemd/system/shop.socket" in paths
    assert len(paths) == 6
