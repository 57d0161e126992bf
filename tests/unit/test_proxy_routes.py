"""The routes an app entry declares become Nginx upstreams and locations (plugins/filter/pyweb_proxy.py)."""

import pytest
import yaml

from conftest import ROOT, entry_options, load_plugin

proxy = load_plugin(ROOT / "plugins/filter/pyweb_proxy.py")
contract = load_plugin(ROOT / "plugins/filter/pyweb_apps.py")

SITE = {"name": "pyweb", "server_names": ["localhost"], "tls": {"enabled": True}}


def app(name, routes=None, static=None, **keys):
    entry = {"name": name, "src": "/src", "app_module": "app:app", **keys}
    if routes is not None:
        entry["routes"] = [{"path": path} if isinstance(path, str) else path for path in routes]
    if static is not None:
        entry["static"] = static
    return entry


def config(hosts, lb="web1", upstreams=None, sites=None, base_dir="/srv"):
    """pyweb_proxy_config for load balancer ``lb`` of hosts {name: {variables}}."""
    app_hosts = [name for name, variables in hosts.items() if variables.get("app", True)]
    routes = proxy.pyweb_app_routes(hosts, app_hosts)
    return proxy.pyweb_proxy_config(routes, lb, upstreams, [SITE] if sites is None else sites, base_dir)


def test_an_app_on_the_load_balancer_is_reached_on_its_socket():
    result = config({"web1": {"pyweb_apps": [app("sync-api", ["/sync-api/"], [{"path": "/static/"}])]}})
    assert result["problems"] == []
    assert result["upstreams"] == [{"name": "sync_api", "servers": [{"address": "unix:/run/gunicorn/sync-api.sock"}]}]
    site = result["sites"][0]
    assert site["routes"] == [{"path": "/sync-api/", "upstream": "sync_api"}]
    assert site["static"] == [{"path": "/static/", "root": "/srv/sync-api/current/static/"}]


def test_route_keys_pass_through_and_static_dir_and_base_dir_make_the_root():
    route = {"path": "/a/", "websocket": True, "rate_limit": {"zone": "api", "burst": 5}}
    result = config({"web1": {"pyweb_apps": [app("a", [route], [{"path": "/assets/", "dir": "public/build/",
                                                                 "gzip_static": False}])]}},
                    base_dir="/opt/apps/")
    site = result["sites"][0]
    assert site["routes"] == [{**route, "upstream": "a"}]
    assert site["static"] == [{"path": "/assets/", "gzip_static": False, "root": "/opt/apps/a/current/public/build/"}]


def test_a_tcp_bind_on_the_load_balancer_is_reached_on_loopback_when_it_is_a_wildcard():
    result = config({"web1": {"pyweb_apps": [app("a", ["/a/"], bind="0.0.0.0:8000"),
                                             app("b", ["/b/"], bind="[::]:8001"),
                                             app("c", ["/c/"], bind="10.0.0.5:8002")]}})
    assert [upstream["servers"] for upstream in result["upstreams"]] == [
        [{"address": "127.0.0.1:8000"}], [{"address": "[::1]:8001"}], [{"address": "10.0.0.5:8002"}]]


def test_a_cluster_gets_every_app_host_that_runs_the_app_in_inventory_order():
    hosts = {
        "lb1": {"app": False},
        "sync1": {"ansible_host": "10.0.1.11", "pyweb_apps__sync": [app("sync-api", ["/sync-api/"], bind="10.0.1.11:8000")]},
        "sync2": {"ansible_host": "10.0.1.12", "pyweb_apps__sync": [app("sync-api", ["/sync-api/"], bind="0.0.0.0:8000")]},
        "async1": {"pyweb_apps__async": [app("async-api", ["/async-api/"], bind="0.0.0.0:8001")]},
    }
    result = config(hosts, lb="lb1")
    assert result["problems"] == []
    assert result["upstreams"] == [
        {"name": "sync_api", "servers": [{"address": "10.0.1.11:8000"}, {"address": "10.0.1.12:8000"}]},
        # No ansible_host: the inventory name.
        {"name": "async_api", "servers": [{"address": "async1:8001"}]},
    ]
    assert [route["path"] for route in result["sites"][0]["routes"]] == ["/sync-api/", "/async-api/"]


def test_a_unix_socket_or_loopback_bind_on_another_host_is_refused_by_name():
    hosts = {"lb1": {"app": False},
             "app1": {"pyweb_apps": [app("shop", ["/shop/"])]},
             "app2": {"pyweb_apps": [app("shop", ["/shop/"], bind="127.0.0.1:8000")]}}
    problems = config(hosts, lb="lb1")["problems"]
    assert any("shop on app1 listens on unix:/run/gunicorn/shop.sock" in p and "lb1 cannot reach" in p
               for p in problems), problems
    assert any("shop on app2 binds 127.0.0.1:8000, a loopback address" in p for p in problems), problems


def test_static_folders_of_an_app_on_another_host_are_refused():
    problems = config({"lb1": {"app": False},
                       "app1": {"pyweb_apps": [app("shop", static=[{"path": "/static/"}], bind="0.0.0.0:8000")]}},
                      lb="lb1")["problems"]
    assert problems == ["pyweb_apps entry shop serves static folders from its release, which is not on the load "
                        "balancer lb1 (the app runs on app1): publish them to the load balancer and declare them "
                        "in nginx_sites instead."]


def test_the_inventory_explicit_form_is_kept_and_merged_after_it():
    upstreams = [{"name": "legacy", "servers": [{"address": "127.0.0.1:9000"}]}]
    sites = [{**SITE, "routes": [{"path": "/legacy/", "upstream": "legacy"}], "static": [{"path": "/media/", "root": "/m/"}]}]
    result = config({"web1": {"pyweb_apps": [app("shop", ["/shop/"], [{"path": "/static/"}])]}},
                    upstreams=upstreams, sites=sites)
    assert result["problems"] == []
    assert [upstream["name"] for upstream in result["upstreams"]] == ["legacy", "shop"]
    assert [route["path"] for route in result["sites"][0]["routes"]] == ["/legacy/", "/shop/"]
    assert [static["path"] for static in result["sites"][0]["static"]] == ["/media/", "/static/"]
    # The inputs are not changed in place (they are the inventory's values).
    assert sites[0]["routes"] == [{"path": "/legacy/", "upstream": "legacy"}]


def test_entries_without_routes_or_being_removed_derive_nothing():
    result = config({"web1": {"pyweb_apps": [app("plain"), app("gone", ["/gone/"], state="absent")]}})
    assert result == {"upstreams": [], "sites": [SITE], "problems": []}


@pytest.mark.parametrize("sites, upstreams, entries, expected", [
    pytest.param([{**SITE, "routes": [{"path": "/shop/", "upstream": "x"}]}], None, [app("shop", ["/shop/"])],
                 "/shop/ of site pyweb has two owners: nginx_sites[pyweb].routes and the routes of pyweb_apps "
                 "entry shop.", id="explicit-route-and-entry-route"),
    pytest.param([{**SITE, "static": [{"path": "/shop/", "root": "/x/"}]}], None, [app("shop", ["/shop/"])],
                 "/shop/ of site pyweb has two owners: nginx_sites[pyweb].static and the routes of pyweb_apps "
                 "entry shop.", id="explicit-static-and-entry-route"),
    pytest.param(None, None, [app("a", ["/x/"]), app("b", static=[{"path": "/x/"}])],
                 "/x/ of site pyweb has two owners: the routes of pyweb_apps entry a and the static of pyweb_apps "
                 "entry b.", id="two-entries"),
    pytest.param(None, [{"name": "shop", "servers": [{"address": "unix:/x.sock"}]}], [app("shop", ["/shop/"])],
                 "nginx_upstreams[shop] and the routes of pyweb_apps entry shop both define upstream shop: drop the "
                 "nginx_upstreams item (the entry's routes derive it).", id="upstream-defined-twice"),
    pytest.param(None, None, [app("shop", ["/shop/"], site="store")],
                 "pyweb_apps entry shop (on web1) puts its routes into site store, which nginx_sites does not "
                 "define (sites: pyweb).", id="unknown-site"),
    pytest.param([SITE, {**SITE, "name": "admin"}], None, [app("shop", ["/shop/"])],
                 "pyweb_apps entry shop (on web1) has routes but no site, and this load balancer has 2 sites "
                 "(pyweb, admin): say which with its site key.", id="which-site"),
    pytest.param([], None, [app("shop", ["/shop/"])],
                 "pyweb_apps entry shop (on web1) has routes but no site, and this load balancer has no "
                 "nginx_sites entry to put them in: declare one (name, server_names, tls).", id="no-site"),
    pytest.param(None, None, [app("shop", ["shop/"])],
                 "pyweb_apps entry shop: routes[shop/]: a path must start and end with /.", id="path"),
])
def test_ambiguous_routes_are_refused_by_name(sites, upstreams, entries, expected):
    problems = config({"web1": {"pyweb_apps": entries}}, upstreams=upstreams, sites=sites)["problems"]
    assert expected in problems, problems


def test_a_name_twice_on_one_host_is_left_to_the_apps_checks():
    """The apps role refuses two entries of one name on a host, naming both; the routes are not
    "routed differently" on one host."""
    result = config({"web1": {"pyweb_apps": [app("shop", ["/shop/"]), app("shop", ["/store/"])]}})
    assert result["problems"] == []
    assert [route["path"] for route in result["sites"][0]["routes"]] == ["/shop/"]


def test_one_app_routed_differently_on_two_hosts_is_refused():
    hosts = {"lb1": {"app": False},
             "a1": {"pyweb_apps": [app("shop", ["/shop/"], bind="0.0.0.0:80")]},
             "a2": {"pyweb_apps": [app("shop", ["/store/"], bind="0.0.0.0:80")]}}
    problems = config(hosts, lb="lb1")["problems"]
    assert any("its routes differ between a1 and a2" in p for p in problems), problems


def test_a_named_site_gets_the_routes_among_several():
    sites = [SITE, {**SITE, "name": "admin"}]
    result = config({"web1": {"pyweb_apps": [app("shop", ["/shop/"], site="admin")]}}, sites=sites)
    assert result["problems"] == []
    assert "routes" not in result["sites"][0]
    assert result["sites"][1]["routes"] == [{"path": "/shop/", "upstream": "shop"}]


def test_the_demo_inventory_derives_what_it_used_to_declare_by_hand():
    demo = ROOT / "inventory/demo/group_vars/all"
    apps = yaml.safe_load((demo / "apps.yml").read_text())["pyweb_apps"]
    sites = yaml.safe_load((demo / "proxy.yml").read_text())["nginx_sites"]
    result = config({"pyweb-demo": {"pyweb_apps": apps}}, lb="pyweb-demo", sites=sites)
    assert result["problems"] == []
    assert result["upstreams"] == [
        {"name": "sync_api", "servers": [{"address": "unix:/run/gunicorn/sync-api.sock"}]},
        {"name": "async_api", "servers": [{"address": "unix:/run/gunicorn/async-api.sock"}]}]
    site = result["sites"][0]
    assert [(route["path"], route["upstream"]) for route in site["routes"]] == [
        ("/sync-api/", "sync_api"), ("/async-api/", "async_api")]
    assert site["static"] == [{"path": "/static/", "root": "/srv/sync-api/current/static/"}]


# The entry spec takes the route keys of the nginx role, checked where the user wrote them.

def test_entry_routes_take_the_nginx_route_keys_but_upstream():
    options = entry_options()
    route_keys = set(options["routes"]["options"])
    nginx = yaml.safe_load((ROOT / "roles/nginx/meta/argument_specs.yml").read_text())
    site = nginx["argument_specs"]["main"]["options"]["nginx_sites"]["options"]
    assert route_keys == set(site["routes"]["options"]) - {"upstream"}
    assert set(options["static"]["options"]) == set(site["static"]["options"]) - {"root"} | {"dir"}


@pytest.mark.parametrize("entry, expected", [
    ({"routes": [{"path": "/a/", "upstream": "x"}]},
     "pyweb_apps[0] (shop).routes[/a/]: an entry's routes go to the app itself, so they take no upstream"),
    ({"static": [{"path": "/s/", "root": "/x/"}]},
     "pyweb_apps[0] (shop).static[/s/]: an entry's static are folders of its release (dir), so they take no root"),
    ({"routes": [{"path": "/a/", "websockets": True}]}, "routes.websockets"),
    ({"routes": [{"path": "/a/", "read_timeout": 5}], "rote": []}, "unknown key 'rote'. Did you mean 'routes'?"),
])
def test_entry_route_mistakes_are_named(entry, expected):
    problems = contract.pyweb_app_problems({"pyweb_apps": [app("shop", **entry)]}, entry_options())
    assert any(expected in problem for problem in problems), problems


# Every single-host inventory the project ships or tests with (group_vars/all holding both the apps
# and the sites): its entries' routes and its own routes go together without a second owner.
SINGLE_HOST_VARS = sorted(
    path for path in [ROOT / "inventory/demo/group_vars/all", *ROOT.glob("molecule/*/group_vars/all"),
                      ROOT / "bench/inventory/group_vars/all"]
    if any("nginx_sites" in (yaml.safe_load(p.read_text()) or {}) for p in path.glob("*.yml")))


@pytest.mark.parametrize("path", SINGLE_HOST_VARS, ids=lambda p: str(p.relative_to(ROOT)))
def test_single_host_inventories_derive_their_routes_without_a_problem(path):
    variables = {}
    for file in sorted(path.glob("*.yml")):
        variables.update(yaml.safe_load(file.read_text()) or {})
    lists = {name: value for name, value in variables.items() if contract.LIST_NAME.match(name)}
    result = config({"host": lists}, lb="host", upstreams=variables.get("nginx_upstreams"),
                    sites=variables["nginx_sites"])
    assert result["problems"] == []
    names = {upstream["name"] for upstream in result["upstreams"]}
    for site in result["sites"]:
        for route in site.get("routes") or []:
            assert route["upstream"] in names, (site["name"], route)


def test_the_default_bind_is_the_gunicorn_roles_default():
    """An entry without bind is routed to the socket the gunicorn role gives it by default."""
    app_lists = load_plugin(ROOT / "plugins/module_utils/app_lists.py")
    defaults = yaml.safe_load((ROOT / "roles/gunicorn/defaults/main.yml").read_text())
    assert app_lists.DEFAULT_BIND.replace("{name}", "{{ gunicorn_name }}") == defaults["gunicorn_bind"]
