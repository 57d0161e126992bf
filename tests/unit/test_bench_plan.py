"""The benchmark's plan of rows against its inventory: every peer has its rows, its port and its
Nginx route, so that a peer added to bench_peers is measured the way pyweb's configurations are."""

import sys

import yaml

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import run  # noqa: E402

GROUP_VARS = ROOT / "bench" / "inventory" / "group_vars" / "all"


def load(name):
    return yaml.safe_load((GROUP_VARS / name).read_text())


def test_each_peer_has_every_endpoint_on_every_path_and_an_overload_row():
    rows = run.plan(64, 512)
    peers = load("apps.yml")["bench_peers"]
    assert {p["app"] for p in peers} == {"sync-api", "async-api"}
    for peer in peers:
        mine = [r for r in rows if r["unit"] == run.peer_unit(peer["name"])]
        assert all(r["peer"] and r["kind"] in ("flask", "fastapi") for r in mine)
        assert {(r["endpoint"], r["via"]) for r in mine if r["connections"] == 64} == {
            (e, v) for e in run.ENDPOINTS for v in ("direct", "nginx-http", "nginx-https")}
        assert [r["via"] for r in mine if r["connections"] == 512] == ["nginx-https"]


def test_peers_have_their_own_ports_and_nginx_routes():
    apps, proxy = load("apps.yml"), load("proxy.yml")
    ports = [c["port"] for c in apps["bench_gunicorn"] + apps["bench_peers"] if "port" in c]
    ports += [apps["bench_devserver_port"], apps["bench_uvicorn_h11_port"]]
    assert len(ports) == len(set(ports))
    upstreams = {u["name"]: u["servers"][0]["address"] for u in proxy["nginx_upstreams"]}
    for site in proxy["nginx_sites"]:
        routes = {r["path"]: r["upstream"] for r in site["routes"]}
        for peer in apps["bench_peers"]:
            upstream = routes[f"/{peer['name']}/"]
            assert upstreams[upstream] == f"127.0.0.1:{peer['port']}"


def test_peer_versions_are_pinned_for_every_package_a_peer_installs():
    apps = load("apps.yml")
    needed = {pkg for p in apps["bench_peers"] for pkg in apps["bench_peer_packages"][p["server"]]}
    assert needed <= set(apps["bench_peer_versions"])
    assert all(str(v)[0].isdigit() for v in apps["bench_peer_versions"].values())


def test_every_configuration_has_its_nginx_route_on_its_port_or_its_unix_socket():
    """Without a port a configuration runs on the role's default bind, the socket pyweb ships; the
    shipped defaults (bench_shipped) are the demo's apps on theirs."""
    apps, proxy = load("apps.yml"), load("proxy.yml")
    upstreams = {u["name"]: u["servers"][0]["address"] for u in proxy["nginx_upstreams"]}
    expected = {f"bench-{c['name']}": f"127.0.0.1:{c['port']}" if "port" in c
                else f"unix:/run/gunicorn/bench-{c['name']}.sock" for c in apps["bench_gunicorn"]}
    expected |= {a["name"]: f"unix:/run/gunicorn/{a['name']}.sock" for a in apps["bench_shipped"]}
    for site in proxy["nginx_sites"]:
        routes = {r["path"]: r["upstream"] for r in site["routes"]}
        for name, address in expected.items():
            assert upstreams[routes[f"/{name.removeprefix('bench-')}/"]] == address, name


def test_the_defaults_are_the_shipped_apps_with_rows_through_nginx_only():
    rows = run.plan(64, 512)
    defaults = {r["id"] for r in rows if r.get("default")}
    assert defaults == {f"{app}-{via}-{e}" for app in ("sync-api", "async-api") for via in ("http", "https")
                        for e in run.ENDPOINTS} | {"high-sync-api-io", "high-async-api-io"}
    assert all(r["unit"] in ("sync-api.service", "async-api.service") for r in rows if r.get("default"))
    assert all(r.get("gunicorn") for r in rows if r.get("default") and not r.get("overload"))
