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
        row("flask-io-https-hello", 1500, 20, via="nginx-https"),
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
        row("flask-io-https-hello", 2500, 8, via="nginx-https"),
    ]
    rows[1]["result"]["errors_total"] = 3
    hello = {t["target"]: t for t in report.evaluate(rows)}["Flask hello through Nginx+TLS vs dev server: req/s"]
    assert hello["value"] == 5.0 and hello["met"] is False
    assert hello["note"] == "errors in flask-io-https-hello"
    assert "| **no** (errors in flask-io-https-hello) |" in report.markdown(rows, "m", [hello])


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
