#!/usr/bin/env python3
"""How long `ansible-playbook site.yml` takes: a fresh converge of the demo inventory into a new
host container, then runs that change nothing, each timed as a whole from this machine.

    python bench/converge.py              measure, print, write converge.json and converge.md
    python bench/converge.py --repeat 3   three runs that change nothing instead of two

The demo inventory (two apps, Nginx with TLS, metrics) is deployed as a user deploys it, into a
host container of its own (HOST), over the same docker connection as the demo. Every figure is
wall time on a shared machine: the report quotes the median of the no-change runs and says how
many tasks ran, so a change in either reads off the next report.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
HOST = "pyweb-converge"
# The targets, in seconds.
TARGETS = {"fresh": 90.0, "no_change": 30.0}
RECAP = re.compile(r"^\S+\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)",
                   re.MULTILINE)


def recap(output: str) -> dict:
    """The counts of the play recap's line for the host (the last one printed)."""
    found = RECAP.findall(output)
    if not found:
        raise ValueError("no play recap in the output")
    ok, changed, unreachable, failed, skipped = (int(n) for n in found[-1])
    return {"ok": ok, "changed": changed, "unreachable": unreachable, "failed": failed, "skipped": skipped}


def converge(log: Path) -> dict:
    """One run of site.yml against HOST: wall seconds and the recap's counts."""
    command = ["ansible-playbook", "-i", "inventory/demo", "-e", f"ansible_host={HOST}", "site.yml"]
    # With the project's ansible.cfg, as `make demo` runs it (per-task timer included).
    start = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - start
    log.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"site.yml failed (exit {done.returncode}), see {log}")
    return {"seconds": round(seconds, 1), **recap(done.stdout)}


def summarise(fresh: dict, again: list[dict]) -> dict:
    """The two figures against their targets; a run that changes something is not a no-change run."""
    no_change = statistics.median(run["seconds"] for run in again)
    return {
        "fresh": fresh,
        "no_change_runs": again,
        "targets": [
            {"target": "fresh converge, seconds", "threshold": TARGETS["fresh"], "value": fresh["seconds"],
             "met": fresh["seconds"] <= TARGETS["fresh"]},
            {"target": "converge that changes nothing, median seconds", "threshold": TARGETS["no_change"],
             "value": no_change,
             "met": no_change <= TARGETS["no_change"] and all(run["changed"] == 0 for run in again),
             "note": "" if all(run["changed"] == 0 for run in again) else "a repeated run changed something"},
        ],
    }


def markdown(result: dict) -> str:
    fresh = result["fresh"]
    lines = [f"Measured on {result.get('date', 'an unknown date')}; load average (1 min) before the first run "
             f"{result.get('load_before', 'unknown')}, after the last {result.get('load_after', 'unknown')} "
             f"({os.cpu_count()} vCPUs): a figure taken on a busy machine reads slower.", "",
             "| converge of the demo inventory (2 apps, Nginx, TLS, metrics) | seconds | tasks run | changed | skipped |",
             "|---|---:|---:|---:|---:|",
             f"| fresh host | {fresh['seconds']:.1f} | {fresh['ok']} | {fresh['changed']} | {fresh['skipped']} |"]
    for number, run in enumerate(result["no_change_runs"], 1):
        lines.append(f"| again, run {number} | {run['seconds']:.1f} | {run['ok']} | {run['changed']} "
                     f"| {run['skipped']} |")
    lines += ["", "| target | threshold | measured | met |", "|---|---:|---:|---|"]
    for target in result["targets"]:
        met = "yes" if target["met"] else "**no**" + (f" ({target['note']})" if target.get("note") else "")
        lines.append(f"| {target['target']} | ≤ {target['threshold']:g} | {target['value']:.1f} | {met} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2, help="runs that change nothing, after the fresh one")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--keep", action="store_true", help="leave the host container running")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    logs = ROOT / ".state" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    host = str(ROOT / "scripts" / "host.sh")
    subprocess.run([host, "remove", HOST], check=True)
    subprocess.run([host, "create", HOST], check=True)
    load_before = round(os.getloadavg()[0], 1)
    try:
        fresh = converge(logs / "converge-fresh.log")
        print(f"fresh converge: {fresh['seconds']:.1f} s ({fresh['ok']} tasks, {fresh['changed']} changed)", flush=True)
        again = []
        for number in range(1, args.repeat + 1):
            run = converge(logs / f"converge-again-{number}.log")
            print(f"again, run {number}: {run['seconds']:.1f} s ({run['ok']} tasks, {run['changed']} changed)",
                  flush=True)
            again.append(run)
    finally:
        if not args.keep:
            subprocess.run([host, "remove", HOST], check=False)
    result = summarise(fresh, again)
    result.update(date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), load_before=load_before,
                  load_after=round(os.getloadavg()[0], 1))
    (args.out / "converge.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "converge.md").write_text(markdown(result))
    print()
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
