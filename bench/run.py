"""pyweb benchmark: the Flask development server against Gunicorn configurations and the peers
(Granian, uWSGI, standalone Uvicorn: the servers a user could pick instead), direct and through
Nginx (HTTP and HTTPS, keep-alive), on one host container of this machine.

    python bench/run.py            deploy bench/deploy.yml into pyweb-bench, measure, report
    python bench/run.py --smoke    one second per row, hello/static rows only: the harness end to end
    python bench/run.py --no-deploy --keep --only REGEX --out DIR    some rows again, side by side

wrk runs inside the host container against its loopback, so every figure is loopback traffic on
this machine; servers and load generator share the same cores, which is why the report quotes
ratios from one run rather than absolute figures.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import cpu  # noqa: E402
import report  # noqa: E402
import wrk  # noqa: E402

HOST = "pyweb-bench"
LUA_IN_HOST = "/usr/local/share/pyweb-bench-report.lua"
DEV_PORT_DEFAULT = 8000
ENDPOINTS = {"hello": "/hello", "cpu": "/cpu", "io": "/io"}
DEV_UNIT = "pyweb-bench-devserver.service"
H11_PORT_DEFAULT = 8007
H11_UNIT = "pyweb-bench-uvicorn-h11.service"
# Longest wait for a server to work off a previous run's queue (512 clients x 50 ms = 26 s on a
# single sync worker).
SETTLE_SECONDS = 40
# A smoke run proves every server, route and transport with one endpoint each; the other
# endpoints run the same harness code and would only cost CI time.
SMOKE_ENDPOINTS = {"hello", "static", "return200"}


def bench_unit(name: str) -> str:
    """The systemd unit bench/deploy.yml gives the configuration `name` of bench_gunicorn."""
    return f"bench-{name}.service"


def peer_unit(name: str) -> str:
    """The systemd unit bench/deploy.yml gives the peer `name` of bench_peers."""
    return f"pyweb-bench-{name}.service"


def bench_vars() -> dict:
    return yaml.safe_load((HERE / "inventory" / "group_vars" / "all" / "apps.yml").read_text())


def plan(connections: int, high: int) -> list[dict]:
    """Every row of the report, in the order it is printed."""
    variables = bench_vars()
    dev_port = variables.get("bench_devserver_port", DEV_PORT_DEFAULT)
    rows = []

    def add(row_id, label, endpoint, via, url, conns=connections, unit=None, **extra):
        # `unit`: the systemd unit of the server behind Nginx (or answering directly), whose CPU
        # time the report shows; rows Nginx answers alone have none.
        rows.append({"id": row_id, "label": label, "endpoint": endpoint, "via": via, "url": url,
                     "connections": conns, "unit": unit, **extra})

    for endpoint, path in ENDPOINTS.items():
        add(f"flask-dev-{endpoint}", "Flask dev server (Werkzeug, threaded)", endpoint, "direct",
            f"http://127.0.0.1:{dev_port}{path}", unit=DEV_UNIT, dev_server=True, kind="flask")
    kinds = variables["bench_app_kinds"]

    def add_server(name, label, port, unit, **extra):
        # One server under test: each endpoint direct (on a TCP port), through Nginx over HTTP and
        # over HTTPS.
        for endpoint, path in ENDPOINTS.items():
            if port:
                add(f"{name}-direct-{endpoint}", label, endpoint, "direct", f"http://127.0.0.1:{port}{path}",
                    unit=unit, **extra)
            add(f"{name}-http-{endpoint}", label, endpoint, "nginx-http", f"http://127.0.0.1:80/{name}{path}",
                unit=unit, **extra)
            add(f"{name}-https-{endpoint}", label, endpoint, "nginx-https",
                f"https://localhost:443/{name}{path}", unit=unit, **extra)

    # `default`: the configuration pyweb ships for that app, as a user gets it (bench_shipped),
    # highlighted in the charts; `gunicorn`: one of pyweb's documented configurations, among which
    # the report picks pyweb's best for the targets against the peers.
    for app in variables.get("bench_shipped", []):
        add_server(app["name"], app["label"], None, f"{app['name']}.service", kind=kinds[app["name"]],
                   default=True, gunicorn=True)
    for config in variables["bench_gunicorn"]:
        add_server(config["name"], config["label"], config.get("port"), bench_unit(config["name"]),
                   kind=kinds[config["app"]], gunicorn=True)
    # The peers: what a user could run instead of pyweb's Gunicorn, on the same releases.
    for peer in variables.get("bench_peers", []):
        add_server(peer["name"], peer["label"], peer["port"], peer_unit(peer["name"]),
                   kind=kinds[peer["app"]], peer=True)
    # What uvloop and httptools buy the async profile: the same release under UvicornH11Worker.
    h11_port = variables.get("bench_uvicorn_h11_port", H11_PORT_DEFAULT)
    h11_label = "Gunicorn + UvicornH11Worker (asyncio, h11)"
    add("fastapi-h11-direct-hello", h11_label, "hello", "direct", f"http://127.0.0.1:{h11_port}/hello",
        unit=H11_UNIT, kind="fastapi")
    add("fastapi-h11-http-hello", h11_label, "hello", "nginx-http", "http://127.0.0.1:80/fastapi-h11/hello",
        unit=H11_UNIT, kind="fastapi")
    add("fastapi-h11-https-hello", h11_label, "hello", "nginx-https", "https://localhost:443/fastapi-h11/hello",
        unit=H11_UNIT, kind="fastapi")
    # Static files: Nginx from disk against Flask's send_file (dev server and Gunicorn default).
    add("nginx-static", "Nginx static file", "static", "nginx-https", "https://localhost:443/static/index.html")
    add("nginx-static-http", "Nginx static file", "static", "nginx-http", "http://127.0.0.1:80/static/index.html")
    add("flask-dev-static", "Flask dev server send_file", "static", "direct",
        f"http://127.0.0.1:{dev_port}/static/index.html", unit=DEV_UNIT, dev_server=True)
    add("flask-io-static", "Gunicorn io profile send_file", "static", "direct",
        "http://127.0.0.1:8003/static/index.html", unit=bench_unit("flask-io"))
    # The ceiling: Nginx answering by itself, nothing proxied can beat it on this machine.
    add("ceiling-http", "Nginx return 200 (ceiling)", "return200", "nginx-http", "http://127.0.0.1:80/ceiling",
        ceiling=True)
    add("ceiling-https", "Nginx return 200 (ceiling)", "return200", "nginx-https", "https://localhost:443/ceiling",
        ceiling=True)
    # Clients outnumbering capacity: errors and timeouts are counted, not hidden. `overload`: the
    # report's target "no default profile loses requests" reads these rows.
    high_rows = [
        ("high-flask-dev-io", "Flask dev server (Werkzeug, threaded)", "direct", f"http://127.0.0.1:{dev_port}/io",
         DEV_UNIT, {"kind": "flask"}),
        ("high-flask-sync1-io", "Gunicorn sync, 1 worker", "direct", "http://127.0.0.1:8001/io",
         bench_unit("flask-sync1"), {"kind": "flask"}),
        ("high-flask-gevent-io", "Gunicorn gevent (io profile)", "nginx-https", "https://localhost:443/flask-gevent/io",
         bench_unit("flask-gevent"), {"kind": "flask"}),
    ]
    # pyweb's defaults as shipped, and every peer, get the same overload through Nginx+TLS.
    high_rows += [(f"high-{app['name']}-io", app["label"], "nginx-https", f"https://localhost:443/{app['name']}/io",
                   f"{app['name']}.service", {"kind": kinds[app["name"]], "default": True})
                  for app in variables.get("bench_shipped", [])]
    high_rows += [(f"high-{peer['name']}-io", peer["label"], "nginx-https", f"https://localhost:443/{peer['name']}/io",
                   peer_unit(peer["name"]), {"kind": kinds[peer["app"]], "peer": True})
                  for peer in variables.get("bench_peers", [])]
    for row_id, label, via, url, unit, extra in high_rows:
        add(row_id, label, "io", via, url, conns=high, unit=unit, overload=True, **extra)
    return rows


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return (f"{os.cpu_count()} vCPU {cpu}, {mem_kb // 1024 // 1024} GiB, Linux {platform.release()}; "
            f"servers and wrk share these cores in one container ({time.strftime('%Y-%m-%d')})")


def peer_versions(prefix: list[str]) -> str:
    """The peers' versions for the report's header: the PyPI pins of bench_peer_versions, and
    uWSGI's as Debian installed it on the host (the release decides it, not a pin)."""
    parts = [f"{name} {version}" for name, version in bench_vars().get("bench_peer_versions", {}).items()]
    done = subprocess.run([*prefix, "dpkg-query", "--show", "--showformat", "${Version}", "uwsgi-core"],
                          capture_output=True, text=True, timeout=30, check=False)
    parts.append(f"uWSGI {done.stdout.strip() or 'not installed'} (Debian's uwsgi-core)")
    return "Peers: " + ", ".join(parts)


def sh(*args, **kwargs):
    return subprocess.run(args, check=True, **kwargs)


def deploy() -> None:
    sh(str(ROOT / "scripts" / "host.sh"), "create", HOST)
    sh("ansible-playbook", "-i", str(HERE / "inventory"), str(HERE / "deploy.yml"), cwd=ROOT)


def settle(url: str, prefix: list[str]) -> None:
    """Wait until the server behind `url` answers one request, at most SETTLE_SECONDS.

    When wrk stops, requests it gave up on are still queued in the server (a sync worker works
    through its whole listen backlog); without this, the next run would start by waiting for the
    previous one's leftovers and report the backlog instead of the configuration.
    """
    subprocess.run([*prefix, "curl", "--silent", "--insecure", "--output", "/dev/null",
                    "--max-time", str(SETTLE_SECONDS), url], timeout=SETTLE_SECONDS + 30, check=False)


def measure(row: dict, duration: float, warmup: float, timeout: float) -> dict:
    prefix = ["docker", "exec", HOST]
    kwargs = {"connections": row["connections"], "timeout": timeout, "lua": LUA_IN_HOST}
    settle(row["url"], prefix)
    if warmup:
        wrk.run(row["url"], duration=warmup, prefix=prefix, **kwargs)
        settle(row["url"], prefix)
    before = cpu.snapshot(prefix)
    result = wrk.run(row["url"], duration=duration, prefix=prefix, **kwargs)
    result["cpu"] = cpu.usage(before, cpu.snapshot(prefix), row["unit"], result["requests"])
    result["timeout_s"] = timeout
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="1 s per row, no warm-up, no chart, hello and static rows only")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds measured per row")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up per row")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--high", type=int, default=512, help="connections of the overload rows")
    parser.add_argument("--timeout", type=float, default=2.0,
                        help="seconds after which a request counts as an error (timeout or unanswered)")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--no-deploy", action="store_true", help="measure an already deployed host")
    parser.add_argument("--keep", action="store_true", help="leave the host container running")
    parser.add_argument("--only", metavar="REGEX",
                        help="measure only the rows whose id matches (e.g. 'granian|uwsgi'): a side-by-side "
                             "run of a few configurations, written to --out")
    args = parser.parse_args()
    if args.smoke:
        args.duration, args.warmup = 1.0, 0.0
        if args.out == HERE / "results":
            args.out = ROOT / ".state" / "bench-smoke"

    if not args.no_deploy:
        deploy()
    rows = plan(args.connections, args.high)
    if args.smoke:
        rows = [row for row in rows if row["endpoint"] in SMOKE_ENDPOINTS]
    if args.only:
        rows = [row for row in rows if re.search(args.only, row["id"])]
    notes = [peer_versions(["docker", "exec", HOST])]
    try:
        for number, row in enumerate(rows, 1):
            try:
                row["result"] = measure(row, args.duration, args.warmup, args.timeout)
            except (wrk.WrkError, subprocess.TimeoutExpired, subprocess.CalledProcessError) as error:
                # A row that cannot be measured is reported as such; the others still run.
                row["result"] = wrk.empty_result(str(error))
            res = row["result"]
            print(f"[{number:>2}/{len(rows)}] {row['id']:<28} {res['rps']:>9,.0f} req/s  "
                  f"p99 {res['p99_ms']:>8.1f} ms  errors {res['errors_total']}", flush=True)
    finally:
        if not args.keep:
            sh(str(ROOT / "scripts" / "host.sh"), "remove", HOST)
    done = report.write_all(rows, machine(), args.out, with_chart=not (args.smoke or args.only), notes=notes)
    print()
    print((args.out / "results.md").read_text())
    # A row that could not run at all is a broken harness or deployment; a row whose server
    # answered nothing in time (1 sync worker, 64 clients of a 50 ms endpoint, a 1 s smoke row) is
    # a measurement, and stays in the report as such.
    broken = [f"{r['id']}: {r['result']['failure']}" for r in done["rows"] if r["result"].get("failure")]
    if broken:
        print("rows that could not be measured:", *broken, sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
