"""Turn benchmark rows into the three outputs: raw JSON, a Markdown table and a PNG chart.

A row is a dict: {"id", "label", "endpoint", "via", "connections", "result": wrk.parse(...)}.
Every ratio compares rows of the same run, never figures from different runs or machines.
"""

from __future__ import annotations

import json
from pathlib import Path

# Targets from the product's claims, on pyweb's default for each app (flask-io: the io profile,
# fastapi-async: the async profile): (description, row id, reference row id or None, kind, threshold).
#   kind "rps_ratio": rps(row) / rps(reference) >= threshold
#   kind "p99_ratio": p99(row) / p99(reference) <= threshold
#   kind "io_bound":  rps(row) / (connections / sleep seconds) >= threshold
TARGETS = [
    ("Flask hello through Nginx+TLS vs dev server: req/s", "flask-io-https-hello", "flask-dev-hello",
     "rps_ratio", 4.0),
    ("Flask hello through Nginx+TLS vs dev server: p99", "flask-io-https-hello", "flask-dev-hello",
     "p99_ratio", 0.30),
    ("Flask CPU-bound through Nginx+TLS vs dev server: req/s", "flask-io-https-cpu", "flask-dev-cpu",
     "rps_ratio", 2.2),
    # The same two targets on the cpu profile (sync workers), the profile made for requests that
    # compute rather than wait: shown beside the default, not instead of it.
    ("Flask hello through Nginx+TLS vs dev server, cpu profile: req/s", "flask-cpu-https-hello",
     "flask-dev-hello", "rps_ratio", 4.0),
    ("Flask hello through Nginx+TLS vs dev server, cpu profile: p99", "flask-cpu-https-hello",
     "flask-dev-hello", "p99_ratio", 0.30),
    ("Flask CPU-bound through Nginx+TLS vs dev server, cpu profile: req/s", "flask-cpu-https-cpu",
     "flask-dev-cpu", "rps_ratio", 2.2),
    ("Flask io profile vs the concurrency bound (connections / 50 ms)", "flask-io-direct-io", None,
     "io_bound", 0.90),
    ("FastAPI through Nginx (HTTP) vs direct Gunicorn+Uvicorn: req/s", "fastapi-async-http-hello",
     "fastapi-async-direct-hello", "rps_ratio", 0.85),
    ("FastAPI through Nginx+TLS vs direct Gunicorn+Uvicorn: req/s", "fastapi-async-https-hello",
     "fastapi-async-direct-hello", "rps_ratio", 0.85),
    ("Static file via Nginx vs Flask send_file: req/s", "nginx-static", "flask-dev-static", "rps_ratio", 50.0),
]
IO_SLEEP_SECONDS = 0.05


def _index(rows):
    return {row["id"]: row for row in rows}


def evaluate(rows: list[dict]) -> list[dict]:
    """Each target with its measured value and whether it was met; missing rows are reported, not hidden."""
    by_id = _index(rows)
    out = []
    for text, row_id, ref_id, kind, threshold in TARGETS:
        row, ref = by_id.get(row_id), by_id.get(ref_id) if ref_id else None
        entry = {"target": text, "threshold": threshold, "kind": kind, "value": None, "met": None}
        if row is None or (ref_id and ref is None):
            entry["note"] = "not measured in this run"
        elif kind == "rps_ratio":
            entry["value"] = _ratio(row["result"]["rps"], ref["result"]["rps"])
        elif kind == "p99_ratio":
            entry["value"] = _ratio(row["result"]["p99_ms"], ref["result"]["p99_ms"])
        elif kind == "io_bound":
            entry["value"] = _ratio(row["result"]["rps"], row["connections"] / IO_SLEEP_SECONDS)
        if entry["value"] is not None:
            entry["met"] = entry["value"] <= threshold if kind == "p99_ratio" else entry["value"] >= threshold
            # Speed bought by dropping requests meets nothing.
            failed = [r["id"] for r in (row, ref) if r and r["result"].get("errors_total")]
            if failed:
                entry["met"] = False
                entry["note"] = "errors in " + ", ".join(failed)
        out.append(entry)
    return out


def _ratio(a, b):
    return round(a / b, 2) if b else None


def ratios(rows: list[dict]) -> list[dict]:
    """Add ratio to the dev server (same endpoint, same connections) and to the ceiling (same via)."""
    dev = {(r["endpoint"], r["connections"]): r for r in rows if r.get("dev_server")}
    ceiling = {(r["via"], r["connections"]): r for r in rows if r.get("ceiling")}
    for row in rows:
        ref = dev.get((row["endpoint"], row["connections"]))
        row["vs_dev"] = _ratio(row["result"]["rps"], ref["result"]["rps"]) if ref else None
        top = ceiling.get((row["via"], row["connections"])) or ceiling.get(("nginx-http", row["connections"]))
        row["vs_ceiling"] = _ratio(row["result"]["rps"], top["result"]["rps"]) if top else None
    return rows


def markdown(rows: list[dict], machine: str, targets: list[dict]) -> str:
    lines = [f"Measured on: {machine}", "",
             "| configuration | endpoint | via | conns | req/s | p50 ms | p99 ms | errors | × dev | × ceiling |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        res = row["result"]
        lines.append(
            f"| {row['label']} | {row['endpoint']} | {row['via']} | {row['connections']} | {res['rps']:,.0f} "
            f"| {res['p50_ms']:.1f} | {_p99(res)} | {_errors(res)} "
            f"| {_fmt(row.get('vs_dev'))} | {_fmt(row.get('vs_ceiling'))} |")
    lines += cpu_table(rows)
    lines += ["", "| target | threshold | measured | met |", "|---|---:|---:|---|"]
    for t in targets:
        sign = "≤" if t["kind"] == "p99_ratio" else "≥"
        met = {True: "yes", False: "**no**", None: t.get("note", "n/a")}[t["met"]]
        if t["met"] is False and t.get("note"):
            met += f" ({t['note']})"
        lines.append(f"| {t['target']} | {sign} {t['threshold']:g} | {_fmt(t['value'])} | {met} |")
    return "\n".join(lines) + "\n"


# The rows whose CPU split explains the ratios: the cheapest requests, where the per-request cost
# of Nginx, TLS and the load generator weighs most.
CPU_ENDPOINTS = ("hello", "static", "return200")


def cpu_table(rows: list[dict]) -> list[str]:
    """Average cores used during each hello/static/ceiling row, by part, and CPU time per request."""
    lines = ["", "Where the CPU went (average cores busy during the row; the machine has "
             "the vCPUs above; \"wrk + rest\" is the load generator and anything else running):", "",
             "| configuration | endpoint | via | req/s | app server | Nginx | journald | wrk + rest | machine "
             "| app µs/req | machine µs/req |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        use = row["result"].get("cpu")
        if row["endpoint"] not in CPU_ENDPOINTS or not use:
            continue
        cores = use["cores"]
        lines.append(
            f"| {row['label']} | {row['endpoint']} | {row['via']} | {row['result']['rps']:,.0f} "
            f"| {cores['app']:.2f} | {cores['nginx']:.2f} | {cores['journald']:.2f} | {cores['rest']:.2f} "
            f"| {cores['total']:.2f} | {_fmt(use['app_us_per_request'])} | {_fmt(use['total_us_per_request'])} |")
    return lines


def _p99_beyond_timeout(result):
    """wrk's histogram stops at the timeout: where at least 1% of the requests timed out or went
    unanswered, the true p99 is only known to lie beyond it."""
    errors = result.get("errors", {})
    late = errors.get("timeout", 0) + errors.get("unanswered", 0)
    waited = result.get("requests", 0) + errors.get("unanswered", 0)
    return bool(result.get("timeout_s") and waited and late / waited >= 0.01)


def _p99(result):
    """p99 in ms, or "> timeout" where it lies beyond what wrk can see."""
    if _p99_beyond_timeout(result):
        return f"> {result['timeout_s'] * 1000:g}"
    return f"{result['p99_ms']:.1f}"


def _errors(result):
    """Error count with its kinds (connect/read/write/status/timeout), or why the row has no figures."""
    if result.get("failure"):
        return "not measured: " + _cell(result["failure"])[:80]
    kinds = ", ".join(f"{k} {v}" for k, v in result.get("errors", {}).items() if v)
    return f"{result['errors_total']} ({kinds})" if kinds else str(result["errors_total"])


def _cell(text):
    return str(text).replace("|", "/").replace("\n", " ")


def _fmt(value):
    return "" if value is None else f"{value:g}"


# One colour per path a request takes, so the cost of Nginx and of TLS reads off neighbouring bars.
VIA_COLOURS = {"direct": "#3b7dd8", "nginx-http": "#2a9d8f", "nginx-https": "#8e5cc4"}


def chart(rows: list[dict], path: Path) -> None:
    """Two panels side by side: req/s and p99 per configuration, one bar per row.

    Bars are coloured by path (direct, Nginx over HTTP, over HTTPS); pyweb's defaults have bold
    labels; a row that lost requests is hatched and says how many, and a p99 beyond the timeout
    is drawn at the timeout with a ">" (wrk cannot see further).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    labels = [f"{r['label']} · {r['endpoint']} · {r['via']} · c{r['connections']}" for r in rows]
    height = max(4, 0.3 * len(rows) + 2)
    fig, (left, right) = plt.subplots(1, 2, figsize=(16, height), sharey=True, layout="constrained")
    y = list(range(len(rows)))
    colours = [VIA_COLOURS.get(r["via"], "#888888") for r in rows]
    hatches = ["///" if r["result"].get("errors_total") else "" for r in rows]
    # Rows with no answered request get a hairline bar: a log axis cannot show zero.
    rps = [max(r["result"]["rps"], 0.1) for r in rows]
    # A p99 known only to lie beyond the timeout is drawn at the timeout (and labelled "> ...").
    p99 = [max(r["result"]["timeout_s"] * 1000 if _p99_beyond_timeout(r["result"]) else r["result"]["p99_ms"], 0.01)
           for r in rows]
    left.barh(y, rps, color=colours, hatch=hatches, edgecolor="white", linewidth=0)
    right.barh(y, p99, color=colours, hatch=hatches, edgecolor="white", linewidth=0, alpha=0.8)
    for i, r in enumerate(rows):
        res = r["result"]
        note = f"{res['rps']:,.0f}"
        if res.get("errors_total"):
            note += f"  ({res['errors_total']:,} errors)"
        left.text(rps[i] * 1.08, i, note, va="center", fontsize=7)
        right.text(p99[i] * 1.08, i, _p99(res), va="center", fontsize=7)
    left.set_xlabel("requests per second (higher is better, log scale)")
    right.set_xlabel("p99 latency, ms (lower is better, log scale)")
    for ax in (left, right):
        ax.set_xscale("log")
        ax.grid(axis="x", alpha=0.3)
        ax.margins(x=0.15)
    left.set_yticks(y, labels, fontsize=8)
    for tick, r in zip(left.get_yticklabels(), rows):
        if r.get("default"):
            tick.set_fontweight("bold")
    left.set_ylim(len(rows) - 0.5, -0.5)  # first row on top, no empty band
    legend = [Patch(color=c, label=v) for v, c in VIA_COLOURS.items()]
    legend.append(Patch(facecolor="white", edgecolor="#444444", hatch="///", label="lost requests"))
    left.legend(handles=legend, loc="lower right", fontsize=8)
    fig.suptitle("pyweb benchmark: one run, one machine (bold: pyweb's default for the app)")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_all(rows: list[dict], machine: str, out_dir: Path, with_chart: bool = True) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = ratios(rows)
    targets = evaluate(rows)
    (out_dir / "results.json").write_text(json.dumps({"machine": machine, "rows": rows, "targets": targets},
                                                     indent=2) + "\n")
    (out_dir / "results.md").write_text(markdown(rows, machine, targets))
    if with_chart:
        chart(rows, out_dir / "results.png")
    return {"rows": rows, "targets": targets}
