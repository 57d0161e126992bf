"""Turn benchmark rows into the three outputs: raw JSON, a Markdown table and a PNG chart.

A row is a dict: {"id", "label", "endpoint", "via", "connections", "result": wrk.parse(...)}.
Every ratio compares rows of the same run, never figures from different runs or machines.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

# Targets from the product's claims, on pyweb's default for each app as shipped (sync-api: the io
# profile, async-api: the async profile, each on its unix socket) or, where a direct row is needed,
# the same profile on TCP (flask-io, fastapi-async): (description, row id, reference row id or None,
# kind, threshold).
#   kind "rps_ratio": rps(row) / rps(reference) >= threshold
#   kind "p99_ratio": p99(row) / p99(reference) <= threshold
#   kind "io_bound":  rps(row) / (connections / sleep seconds) >= threshold
TARGETS = [
    ("Flask hello through Nginx+TLS vs dev server: req/s", "sync-api-https-hello", "flask-dev-hello",
     "rps_ratio", 4.0),
    ("Flask hello through Nginx+TLS vs dev server: p99", "sync-api-https-hello", "flask-dev-hello",
     "p99_ratio", 0.30),
    ("Flask CPU-bound through Nginx+TLS vs dev server: req/s", "sync-api-https-cpu", "flask-dev-cpu",
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

# Targets against the peers (the servers a user could pick instead: rows with "peer"), for each app
# kind and endpoint through Nginx+TLS: pyweb's best documented configuration (best_documented)
# reaches PEER_RPS_RATIO of the best peer's req/s, with a p99 at most PEER_P99_RATIO of that peer's.
PEER_TARGET_KINDS = {"flask": "Flask", "fastapi": "FastAPI"}
PEER_TARGET_ENDPOINTS = ("hello", "cpu", "io")
PEER_TARGET_VIA = "nginx-https"
PEER_RPS_RATIO = 1.0
PEER_P99_RATIO = 1.1
# And pyweb's default as shipped (row["default"]) against the same best peer, for the app kinds
# named here: the floor a user gets without choosing anything.
DEFAULT_PEER_RPS_RATIO = {"flask": 0.75}
# Comparison operator of each kind of target, as the Markdown table prints it.
SIGNS = {"rps_ratio": "≥", "io_bound": "≥", "p99_ratio": "≤", "no_errors": "="}


def _index(rows):
    return {row["id"]: row for row in rows}


def _peer_key(row):
    """Rows compared with each other: same app kind, endpoint, path and connections."""
    return (row.get("kind"), row["endpoint"], row["via"], row["connections"])


def _fastest(candidates):
    """The row with the most req/s, or None."""
    return max(candidates, key=lambda r: r["result"]["rps"], default=None)


def best_peers(rows: list[dict]) -> dict:
    """The best peer (most req/s) for each (kind, endpoint, via, connections) measured."""
    best = {}
    for row in rows:
        if row.get("peer") and row.get("kind"):
            key = _peer_key(row)
            best[key] = _fastest([r for r in (best.get(key), row) if r])
    return best


def best_documented(rows: list[dict], kind: str, endpoint: str, via: str, connections: int) -> dict | None:
    """pyweb's best documented configuration for that app kind, endpoint, via and connections.

    The candidates are the Gunicorn rows (row["gunicorn"]: the configurations of bench_gunicorn,
    each a profile or worker class the gunicorn role documents, deployed through the role); the
    dev server, the UvicornH11Worker baseline and the peers are not pyweb configurations. The one
    with the most req/s among those that lost no request wins: a configuration that drops
    requests is not one to recommend. If every candidate lost requests, the fastest is taken
    anyway, and the target then fails on its errors.
    """
    candidates = [r for r in rows if r.get("gunicorn") and _peer_key(r) == (kind, endpoint, via, connections)]
    return _fastest([r for r in candidates if not r["result"].get("errors_total")]) or _fastest(candidates)


def peer_targets(rows: list[dict]) -> list[tuple]:
    """The targets against the peers, as TARGETS entries naming the rows this run picked.

    Compared at the connections of the peers' own rows through Nginx+TLS, overload rows aside.
    """
    best = best_peers(rows)
    out = []
    for kind, name in PEER_TARGET_KINDS.items():
        for endpoint in PEER_TARGET_ENDPOINTS:
            keys = [k for k in best if k[:3] == (kind, endpoint, PEER_TARGET_VIA) and not best[k].get("overload")]
            peer = best[keys[0]] if keys else None
            ours = best_documented(rows, kind, endpoint, PEER_TARGET_VIA, peer["connections"]) if peer else None
            ids = (ours["id"], peer["id"]) if ours and peer else (None, None)
            where = f"{name} {endpoint} through Nginx+TLS, pyweb's best documented configuration vs the best peer"
            out.append((f"{where}: req/s", *ids, "rps_ratio", PEER_RPS_RATIO))
            out.append((f"{where}: p99", *ids, "p99_ratio", PEER_P99_RATIO))
    return out


def default_targets(rows: list[dict]) -> list[tuple]:
    """pyweb's default for each kind of DEFAULT_PEER_RPS_RATIO against the best peer, per endpoint."""
    best = best_peers(rows)
    out = []
    for kind, threshold in DEFAULT_PEER_RPS_RATIO.items():
        for endpoint in PEER_TARGET_ENDPOINTS:
            ours = next((r for r in rows if r.get("default") and not r.get("overload")
                         and _peer_key(r)[:3] == (kind, endpoint, PEER_TARGET_VIA)), None)
            peer = best.get(_peer_key(ours)) if ours else None
            ids = (ours["id"], peer["id"]) if ours and peer else (None, None)
            out.append((f"{PEER_TARGET_KINDS[kind]} {endpoint} through Nginx+TLS, pyweb's default vs the best peer: "
                        "req/s", *ids, "rps_ratio", threshold))
    return out


def overload_targets(rows: list[dict]) -> list[tuple]:
    """No lost request on the overload row of each of pyweb's defaults (row["overload"] and "default")."""
    return [(f"No lost requests at {r['connections']} connections: {r['label']} ({r['via']})", r["id"], None,
             "no_errors", 0)
            for r in rows if r.get("overload") and r.get("default") and not r.get("peer")]


def evaluate(rows: list[dict]) -> list[dict]:
    """Each target with its measured value and whether it was met; missing rows are reported, not hidden."""
    by_id = _index(rows)
    out = []
    every = TARGETS + peer_targets(rows) + default_targets(rows) + overload_targets(rows)
    for text, row_id, ref_id, kind, threshold in every:
        row, ref = by_id.get(row_id), by_id.get(ref_id) if ref_id else None
        entry = {"target": text, "threshold": threshold, "kind": kind, "value": None, "met": None,
                 "rows": [i for i in (row_id, ref_id) if i]}
        unmeasured = [r["id"] for r in (row, ref) if r and r["result"].get("failure")]
        if row is None or (ref_id and ref is None):
            entry["note"] = "not measured in this run"
        elif unmeasured:
            entry["met"] = False
            entry["note"] = "could not measure " + ", ".join(unmeasured)
        elif kind == "rps_ratio":
            entry["value"] = _ratio(row["result"]["rps"], ref["result"]["rps"])
        elif kind == "p99_ratio":
            entry["value"] = _ratio(row["result"]["p99_ms"], ref["result"]["p99_ms"])
        elif kind == "io_bound":
            entry["value"] = _ratio(row["result"]["rps"], row["connections"] / IO_SLEEP_SECONDS)
        elif kind == "no_errors":
            entry["value"] = row["result"]["errors_total"]
        if entry["value"] is not None:
            entry["met"] = entry["value"] <= threshold if SIGNS[kind] != "≥" else entry["value"] >= threshold
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
    """Add ratio to the dev server (same endpoint, same connections), to the ceiling (same via) and
    to the best peer (same app kind, endpoint, via and connections; the best peer's own is 1)."""
    dev = {(r["endpoint"], r["connections"]): r for r in rows if r.get("dev_server")}
    ceiling = {(r["via"], r["connections"]): r for r in rows if r.get("ceiling")}
    peers = best_peers(rows)
    for row in rows:
        ref = dev.get((row["endpoint"], row["connections"]))
        row["vs_dev"] = _ratio(row["result"]["rps"], ref["result"]["rps"]) if ref else None
        top = ceiling.get((row["via"], row["connections"])) or ceiling.get(("nginx-http", row["connections"]))
        row["vs_ceiling"] = _ratio(row["result"]["rps"], top["result"]["rps"]) if top else None
        peer = peers.get(_peer_key(row)) if row.get("kind") else None
        row["vs_peer"] = _ratio(row["result"]["rps"], peer["result"]["rps"]) if peer else None
    return rows


def markdown(rows: list[dict], machine: str, targets: list[dict], notes: list[str] = ()) -> str:
    lines = [f"Measured on: {machine}", *(line for note in notes for line in ("", note)), "",
             "Peers (the servers a user could pick instead of pyweb's Gunicorn) are marked (peer); "
             "× best peer: req/s over the best peer's of the same app kind, endpoint, via and connections.", "",
             "| configuration | endpoint | via | conns | req/s | p50 ms | p99 ms | errors | × dev | × ceiling "
             "| × best peer |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        res = row["result"]
        lines.append(
            f"| {row['label']} | {row['endpoint']} | {row['via']} | {row['connections']} | {res['rps']:,.0f} "
            f"| {res['p50_ms']:.1f} | {_p99(res)} | {_errors(res)} "
            f"| {_fmt(row.get('vs_dev'))} | {_fmt(row.get('vs_ceiling'))} | {_fmt(row.get('vs_peer'))} |")
    lines += peer_table(rows)
    lines += cpu_table(rows)
    lines += ["", "| target | rows compared | threshold | measured | met |", "|---|---|---:|---:|---|"]
    for t in targets:
        met = {True: "yes", False: "**no**", None: t.get("note", "n/a")}[t["met"]]
        if t["met"] is False and t.get("note"):
            met += f" ({t['note']})"
        lines.append(f"| {t['target']} | {' vs '.join(t.get('rows', []))} | {SIGNS[t['kind']]} {t['threshold']:g} "
                     f"| {_fmt(t['value'])} | {met} |")
    return "\n".join(lines) + "\n"


def peer_table(rows: list[dict]) -> list[str]:
    """pyweb's default for each app against the best peer, wherever both were measured."""
    peers = best_peers(rows)
    lines = ["", "pyweb's default against the best peer (same app kind, endpoint, via and connections):", "",
             "| app | endpoint | via | conns | pyweb default | req/s | p99 ms | best peer | req/s | p99 ms "
             "| × best peer |",
             "|---|---|---|---:|---|---:|---:|---|---:|---:|---:|"]
    for row in rows:
        peer = peers.get(_peer_key(row))
        if not row.get("default") or not peer:
            continue
        ours, theirs = row["result"], peer["result"]
        lines.append(
            f"| {row['kind']} | {row['endpoint']} | {row['via']} | {row['connections']} | {row['label']} "
            f"| {ours['rps']:,.0f} | {_p99(ours)} | {peer['label']} | {theirs['rps']:,.0f} | {_p99(theirs)} "
            f"| {_fmt(row.get('vs_peer'))} |")
    return lines


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


# One colour per path a request takes, so the cost of Nginx and of TLS reads off neighbouring bars;
# the peers in warm colours of their own, so they stand apart from pyweb's rows at a glance.
VIA_COLOURS = {"direct": "#3b7dd8", "nginx-http": "#2a9d8f", "nginx-https": "#8e5cc4"}
PEER_COLOURS = {"direct": "#e08a1e", "nginx-http": "#d1495b", "nginx-https": "#8c2f1b"}


def _colour(row):
    return (PEER_COLOURS if row.get("peer") else VIA_COLOURS).get(row["via"], "#888888")


def chart(rows: list[dict], path: Path) -> None:
    """Two panels side by side: req/s and p99 per configuration, one bar per row.

    Bars are coloured by path (direct, Nginx over HTTP, over HTTPS), the peers' in colours of their
    own; pyweb's defaults have bold
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
    colours = [_colour(r) for r in rows]
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
    legend += [Patch(color=c, label=f"peer, {v}") for v, c in PEER_COLOURS.items()]
    legend.append(Patch(facecolor="white", edgecolor="#444444", hatch="///", label="lost requests"))
    left.legend(handles=legend, loc="lower right", fontsize=8)
    fig.suptitle("pyweb benchmark: one run, one machine (bold: pyweb's default for the app)")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def headline_bars(rows: list[dict]) -> dict:
    """For each app kind, the headline's bars: (caption, row) for the dev server, pyweb's default,
    pyweb's best documented configuration (when it is not the default) and the best peer, hello
    through Nginx+TLS (the dev server only answers directly); kinds with no pyweb default measured
    are left out, and a bar whose row is missing is too."""
    peers = best_peers(rows)
    bars = {}
    for kind, name in PEER_TARGET_KINDS.items():
        ours = next((r for r in rows if r.get("default") and not r.get("overload")
                     and _peer_key(r)[:3] == (kind, "hello", PEER_TARGET_VIA)), None)
        if ours is None:
            continue
        dev = next((r for r in rows if r.get("dev_server") and r.get("kind") == kind and r["endpoint"] == "hello"), None)
        peer = peers.get(_peer_key(ours))
        best = best_documented(rows, *_peer_key(ours))
        peer_name = textwrap.fill(peer["label"].removesuffix(" (peer)"), 24) if peer else ""
        best_name = textwrap.fill(best["label"], 24) if best else ""
        bars[name] = [(caption, row) for caption, row in (
            (f"{name} dev server\n(direct)", dev),
            ("pyweb default\n(Nginx+TLS)", ours),
            (f"pyweb's best (Nginx+TLS):\n{best_name}", best if best is not ours else None),
            (f"best peer (Nginx+TLS):\n{peer_name}", peer)) if row]
    return bars


def headline(rows: list[dict], path: Path) -> None:
    """The chart to read first: per app, req/s of hello for the dev server, pyweb's default, pyweb's
    best documented configuration and the best peer, on a linear axis so that the bars' lengths are
    the ratios."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bars = headline_bars(rows)
    fig, axes = plt.subplots(1, max(1, len(bars)), figsize=(8 * max(1, len(bars)), 5.5), layout="constrained",
                             squeeze=False)
    for ax, (name, items) in zip(axes[0], bars.items()):
        rps = [row["result"]["rps"] for _unused, row in items]
        colours = ["#9aa5b1" if row.get("dev_server") else _colour(row) for _unused, row in items]
        ax.bar(range(len(items)), rps, color=colours)
        for i, (_unused, row) in enumerate(items):
            # The ratios on pyweb's bars only, and only to bars of the same panel: the dev server's
            # own peer ratio would compare it with a peer answering directly, and FastAPI's
            # ratio to the (Flask) dev server has no dev server bar beside it.
            note = f"{row['result']['rps']:,.0f}"
            if row.get("gunicorn") and not row.get("dev_server"):
                shown = [("vs_peer", "the best peer")]
                if row.get("default") and any(r.get("dev_server") for _unused, r in items):
                    shown.insert(0, ("vs_dev", "the dev server"))
                note += "".join(f"\n× {row[key]:g} {what}" for key, what in shown if row.get(key))
            ax.text(i, rps[i], note, ha="center", va="bottom", fontsize=10)
        ax.set_xticks(range(len(items)), [caption for caption, _unused in items], fontsize=9)
        ax.set_title(f"{name}: hello, {items[0][1]['connections']} connections", fontsize=12)
        ax.set_ylabel("requests per second (higher is better)")
        ax.margins(y=0.2)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("pyweb against the dev server and the best peer: one run, one machine")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_all(rows: list[dict], machine: str, out_dir: Path, with_chart: bool = True,
              notes: list[str] = ()) -> dict:
    """`notes`: lines for the report's header (the peers' versions)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = ratios(rows)
    targets = evaluate(rows)
    (out_dir / "results.json").write_text(json.dumps({"machine": machine, "notes": list(notes), "rows": rows,
                                                      "targets": targets}, indent=2) + "\n")
    (out_dir / "results.md").write_text(markdown(rows, machine, targets, notes))
    if with_chart:
        chart(rows, out_dir / "results.png")
        headline(rows, out_dir / "headline.png")
    return {"rows": rows, "targets": targets}
