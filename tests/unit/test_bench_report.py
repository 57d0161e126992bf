"""The benchmark harness's arithmetic: parsing wrk, ratios, targets and the rendered outputs."""

import json
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import cpu  # noqa: E402
import report  # noqa: E402
import wrk  # noqa: E402

WRK_OUTPUT = """Running 2s test @ http://127.0.0.1:8000/hello
  2 threads and 64 connections
PYWEB_RESULT {"requests": 2000, "duration_us": 2000000, "bytes": 300000, "errors_connect": 0, \
"errors_read": 1, "errors_write": 0, "errors_status": 2, "errors_timeout": 3, "errors_unanswered": 4, \
"sent": 2069, "p50_us": 1500, "p90_us": 4000, "p99_us": 12000, "max_us": 30000, "mean_us": 2100.5}
"""


def row(row_id, rps, p99, endpoint="hello", via="direct", connections=64, **extra):
    return {"id": row_id, "label": row_id, "endpoint": endpoint, "via": via, "connections": connections,
            "result": {"rps": rps, "p50_ms": p99 / 4, "p99_ms": p99, "errors_total": 0}, **extra}


def test_parse_reads_the_lua_line_and_counts_every_error():
    result = wrk.parse(WRK_OUTPUT)
    assert result["rps"] == 1000.0
    assert result["p99_ms"] == 12.0
    assert result["errors"] == {"connect": 0, "read": 1, "write": 0, "status": 2, "timeout": 3, "unanswered": 4}
    assert result["errors_total"] == 10
    assert result["sent"] == 2069


def test_parse_refuses_output_without_a_result():
    with pytest.raises(wrk.WrkError):
        wrk.parse("connection refused")


def test_command_is_bounded_in_time():
    args = wrk.command("http://127.0.0.1/", connections=8, duration=1.5, timeout=2)
    assert "-d2s" in args and "--timeout=2s" in args and "-c8" in args and "-t2" in args
    # The Lua hook gets the same timeout, in ms, to count requests left waiting at the end.
    assert args[-3:] == ["http://127.0.0.1/", "--", "2000"]


def test_ratios_compare_with_the_dev_server_and_the_ceiling_of_the_same_run():
    rows = report.ratios([
        row("flask-dev-hello", 500, 40, dev_server=True),
        row("flask-io-https-hello", 2500, 8, via="nginx-https"),
        row("ceiling-https", 10000, 2, endpoint="return200", via="nginx-https", ceiling=True),
    ])
    assert rows[1]["vs_dev"] == 5.0
    assert rows[1]["vs_ceiling"] == 0.25
    assert rows[0]["vs_ceiling"] is None or rows[0]["vs_ceiling"] == 0.05


def test_targets_report_met_missed_and_unmeasured():
    rows = [
        row("flask-dev-hello", 500, 40, dev_server=True),
        row("sync-api-https-hello", 1500, 20, via="nginx-https"),
        row("flask-io-direct-io", 1200, 60, endpoint="io"),
    ]
    targets = {t["target"]: t for t in report.evaluate(rows)}
    hello = targets["Flask hello through Nginx+TLS vs dev server: req/s"]
    assert hello["value"] == 3.0 and hello["met"] is False
    p99 = targets["Flask hello through Nginx+TLS vs dev server: p99"]
    assert p99["value"] == 0.5 and p99["met"] is False
    io_bound = targets["Flask io profile vs the concurrency bound (connections / 50 ms)"]
    assert io_bound["value"] == 0.94 and io_bound["met"] is True
    static = targets["Static file via Nginx vs Flask send_file: req/s"]
    assert static["met"] is None and static["note"] == "not measured in this run"


def test_a_target_is_not_met_by_a_row_that_dropped_requests():
    rows = [
        row("flask-dev-hello", 500, 40, dev_server=True),
        row("sync-api-https-hello", 2500, 8, via="nginx-https"),
    ]
    rows[1]["result"]["errors_total"] = 3
    hello = {t["target"]: t for t in report.evaluate(rows)}["Flask hello through Nginx+TLS vs dev server: req/s"]
    assert hello["value"] == 5.0 and hello["met"] is False
    assert hello["note"] == "errors in sync-api-https-hello"
    assert "| **no** (errors in sync-api-https-hello) |" in report.markdown(rows, "m", [hello])


def test_p99_beyond_the_timeout_is_not_shown_as_a_figure():
    overloaded = {"requests": 95, "p99_ms": 1988.2, "timeout_s": 2.0,
                  "errors": {"timeout": 57, "unanswered": 27}}
    assert report._p99(overloaded) == "> 2000"
    healthy = {"requests": 10000, "p99_ms": 12.34, "timeout_s": 2.0, "errors": {"timeout": 0, "unanswered": 0}}
    assert report._p99(healthy) == "12.3"
    assert report._errors({**overloaded, "errors_total": 84}) == "84 (timeout 57, unanswered 27)"


def test_write_all_produces_json_markdown_and_png(tmp_path):
    rows = [row("flask-dev-hello", 500, 40, dev_server=True), row("flask-io-https-hello", 2500, 8)]
    report.write_all(rows, "test machine", tmp_path)
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["machine"] == "test machine" and len(data["rows"]) == 2
    table = (tmp_path / "results.md").read_text()
    assert "| flask-io-https-hello | hello | direct | 64 | 2,500 |" in table
    assert (tmp_path / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def snapshot(time, busy, **units):
    return {"time": time, "busy": busy, "units": {k.replace("_", "-") + ".service": v for k, v in units.items()}}


def test_cpu_usage_splits_the_machine_busy_time_by_part():
    before = snapshot(10.0, 100.0, nginx=5.0, bench_flask_io=20.0, systemd_journald=1.0)
    after = snapshot(12.0, 103.6, nginx=6.0, bench_flask_io=22.0, systemd_journald=1.2)
    use = cpu.usage(before, after, "bench-flask-io.service", requests=4000)
    assert use["cores"] == {"app": 1.0, "nginx": 0.5, "journald": 0.1, "rest": 0.2, "total": 1.8}
    assert use["app_us_per_request"] == 500
    assert use["total_us_per_request"] == 900


def test_cpu_usage_of_a_row_without_an_app_server_or_requests():
    before, after = snapshot(0.0, 0.0, nginx=0.0), snapshot(1.0, 1.0, nginx=0.8)
    use = cpu.usage(before, after, None, requests=0)
    assert use["cores"]["app"] == 0.0 and use["cores"]["rest"] == 0.2
    assert use["app_us_per_request"] is None and use["total_us_per_request"] is None


def test_cpu_table_lists_the_cheap_rows_that_were_measured():
    use = {"cores": {"app": 1.0, "nginx": 0.5, "journald": 0.1, "rest": 0.2, "total": 1.8},
           "app_us_per_request": 500, "total_us_per_request": 900}
    rows = [row("flask-io-https-hello", 2000, 8, via="nginx-https"), row("flask-dev-io", 900, 60, endpoint="io")]
    rows[0]["result"]["cpu"] = use
    rows[1]["result"]["cpu"] = use
    lines = report.cpu_table(rows)
    assert "| flask-io-https-hello | hello | nginx-https | 2,000 | 1.00 | 0.50 | 0.10 | 0.20 | 1.80 | 500 | 900 |" in lines
    assert not [line for line in lines if "flask-dev-io" in line]


# The peers: servers a user could pick instead of pyweb's Gunicorn (rows with peer=True).
def flask(row_id, rps, p99, via="nginx-https", endpoint="hello", **extra):
    return row(row_id, rps, p99, endpoint=endpoint, via=via, kind="flask", **extra)


def peer_rows():
    return [
        flask("flask-dev-hello", 1000, 60, via="direct", dev_server=True),
        flask("flask-cpu-https-hello", 3600, 22, gunicorn=True),
        flask("flask-io-https-hello", 4700, 37, gunicorn=True, default=True),
        flask("flask-granian-https-hello", 5000, 30, peer=True),
        flask("flask-uwsgi-https-hello", 4000, 25, peer=True),
        flask("flask-granian-direct-hello", 9000, 10, via="direct", peer=True),
        row("fastapi-granian-https-hello", 20000, 5, via="nginx-https", kind="fastapi", peer=True),
    ]


def test_ratio_to_the_best_peer_of_the_same_kind_endpoint_via_and_connections():
    rows = {r["id"]: r for r in report.ratios(peer_rows())}
    assert rows["flask-granian-https-hello"]["vs_peer"] == 1
    assert rows["flask-uwsgi-https-hello"]["vs_peer"] == 0.8
    assert rows["flask-io-https-hello"]["vs_peer"] == 0.94
    # The direct peer and the FastAPI peer are not Flask-through-TLS figures.
    assert rows["flask-cpu-https-hello"]["vs_peer"] == 0.72
    # No peer answers the dev server's way (direct, 64 connections, hello) but Granian direct.
    assert rows["flask-dev-hello"]["vs_peer"] == 0.11


def test_rows_without_an_app_kind_or_a_peer_have_no_peer_ratio():
    rows = report.ratios([row("ceiling-https", 50000, 2, via="nginx-https", ceiling=True),
                          flask("flask-io-http-hello", 4000, 30, via="nginx-http", gunicorn=True)])
    assert rows[0]["vs_peer"] is None and rows[1]["vs_peer"] is None


def test_best_documented_is_the_fastest_gunicorn_row_that_lost_nothing():
    rows = peer_rows() + [flask("flask-gevent-https-hello", 6000, 20, gunicorn=True)]
    rows[-1]["result"]["errors_total"] = 5
    best = report.best_documented(rows, "flask", "hello", "nginx-https", 64)
    # gevent was faster but dropped requests; peers and the dev server are never candidates.
    assert best["id"] == "flask-io-https-hello"
    assert report.best_documented(rows, "fastapi", "hello", "nginx-https", 64) is None


def peer_targets(rows):
    return {t["target"]: t for t in report.evaluate(rows) if "best peer" in t["target"]}


def test_peer_targets_fail_when_pyweb_is_slower_or_later_than_the_best_peer():
    rows = peer_rows()
    rows[2]["result"]["rps"] = 4000  # 0.8 of Granian's 5000
    targets = peer_targets(rows)
    rps = targets["Flask hello through Nginx+TLS, pyweb's best documented configuration vs the best peer: req/s"]
    assert rps["rows"] == ["flask-io-https-hello", "flask-granian-https-hello"]
    assert rps["value"] == 0.8 and rps["met"] is False
    p99 = targets["Flask hello through Nginx+TLS, pyweb's best documented configuration vs the best peer: p99"]
    assert p99["value"] == 1.23 and p99["met"] is False
    # Nothing measured for io, nor any pyweb FastAPI row: reported as such, never as met.
    io = targets["Flask io through Nginx+TLS, pyweb's best documented configuration vs the best peer: req/s"]
    assert io["met"] is None and io["note"] == "not measured in this run"
    fastapi = targets["FastAPI hello through Nginx+TLS, pyweb's best documented configuration vs the best peer: req/s"]
    assert fastapi["met"] is None


def test_peer_targets_met_within_the_thresholds():
    rows = peer_rows()
    rows[2]["result"].update(rps=5000, p99_ms=33)  # 1.0 of the req/s, 1.1 of the p99
    targets = peer_targets(rows)
    assert [t["met"] for t in targets.values()
            if t["target"].startswith("Flask hello") and "best documented" in t["target"]] == [True, True]
    rows[2]["result"].update(rps=4950)
    assert peer_targets(rows)[
        "Flask hello through Nginx+TLS, pyweb's best documented configuration vs the best peer: req/s"]["met"] is False


def test_the_flask_default_is_held_to_three_quarters_of_the_best_peer():
    rows = peer_rows()
    rows[2]["result"]["rps"] = 3700  # the default: 0.74 of Granian's 5000
    target = peer_targets(rows)["Flask hello through Nginx+TLS, pyweb's default vs the best peer: req/s"]
    assert target["rows"] == ["flask-io-https-hello", "flask-granian-https-hello"]
    assert (target["value"], target["threshold"], target["met"]) == (0.74, 0.75, False)
    rows[2]["result"]["rps"] = 3750
    assert peer_targets(rows)["Flask hello through Nginx+TLS, pyweb's default vs the best peer: req/s"]["met"] is True
    # Each endpoint has its own; FastAPI's default has none.
    assert not [t for t in peer_targets(rows) if t.startswith("FastAPI") and "default" in t]


def test_peer_target_not_met_by_a_peer_comparison_that_dropped_requests():
    rows = peer_rows()
    rows[3]["result"]["errors_total"] = 2  # the best peer lost requests: no fair comparison
    rps = peer_targets(rows)["Flask hello through Nginx+TLS, pyweb's best documented configuration vs the best peer: req/s"]
    assert rps["met"] is False and rps["note"] == "errors in flask-granian-https-hello"


def overload(row_id, errors, **extra):
    high = flask(row_id, 900, 1900, endpoint="io", connections=512, overload=True, **extra)
    high["result"]["errors_total"] = errors
    return high


def test_no_default_profile_may_lose_requests_at_512_connections():
    rows = [overload("high-flask-io-io", 0, default=True), overload("high-fastapi-io", 12, default=True),
            overload("high-flask-sync1-io", 300), overload("high-flask-granian-io", 40, peer=True)]
    targets = [t for t in report.evaluate(rows) if t["kind"] == "no_errors"]
    # Only pyweb's defaults are held to it: neither the 1-worker row nor the peers.
    assert [(t["rows"], t["value"], t["met"]) for t in targets] == [
        (["high-flask-io-io"], 0, True), (["high-fastapi-io"], 12, False)]
    assert "| = 0 | 12 | **no**" in report.markdown(rows, "m", targets)


def test_a_row_that_could_not_be_measured_meets_no_target():
    rows = [overload("high-flask-io-io", 0, default=True)]
    rows[0]["result"]["failure"] = "wrk exited 1"
    target = [t for t in report.evaluate(rows) if t["kind"] == "no_errors"][0]
    assert target["met"] is False and target["note"] == "could not measure high-flask-io-io"


def test_markdown_shows_the_peer_ratio_and_the_peer_comparison():
    rows = report.ratios(peer_rows())
    table = report.markdown(rows, "m", [], notes=["Peers: granian 2.8.7"])
    assert "\nPeers: granian 2.8.7\n" in table
    assert "| flask-io-https-hello | hello | nginx-https | 64 | 4,700 | 9.2 | 37.0 | 0 | 4.7 |  | 0.94 |" in table
    assert ("| flask | hello | nginx-https | 64 | flask-io-https-hello | 4,700 | 37.0 | flask-granian-https-hello "
            "| 5,000 | 30.0 | 0.94 |") in table


def test_headline_has_the_dev_server_pyweb_default_and_best_peer(tmp_path):
    rows = report.ratios(peer_rows())
    bars = report.headline_bars(rows)
    assert list(bars) == ["Flask"]  # no pyweb FastAPI default measured
    # The default is also pyweb's best documented configuration here: one bar for both.
    assert [r["id"] for _unused, r in bars["Flask"]] == [
        "flask-dev-hello", "flask-io-https-hello", "flask-granian-https-hello"]
    faster = peer_rows() + [flask("flask-io-granian-unix-https-hello", 5200, 28, gunicorn=True)]
    bars = report.headline_bars(report.ratios(faster))
    assert [r["id"] for _unused, r in bars["Flask"]] == [
        "flask-dev-hello", "flask-io-https-hello", "flask-io-granian-unix-https-hello", "flask-granian-https-hello"]
    report.write_all(faster, "m", tmp_path)
    assert (tmp_path / "headline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
