"""How long a converge takes, fresh and when nothing changed, for the demo and for 1, 5 and 10 apps.

    python bench/converge.py                    the demo, then 1, 5 and 10 apps; converge.md/.json/.png
    python bench/converge.py --apps 1,5 --repeat 1
    python bench/converge.py --no-demo          the per-app series only

Each case gets a new host container (HOST) and is deployed as a user deploys it, over the same
docker connection as the demo, with the project's ansible.cfg (the installed collection,
pipelining on):
- the demo: `ansible-playbook -i inventory/demo site.yml` (two apps, Nginx with TLS, metrics);
- N apps: `ansible-playbook pyweb.stack.apps` with N copies of the example Flask app that differ
  only in their names (the apps play alone, as the per-app cost is what it measures).
Every case is converged on a fresh host, then again REPEAT times; a run that changes nothing must
report changed=0. The report gives each run, the cost of one more app (the slope from the fewest
to the most apps), the targets, the date and the machine's load, since wall time on a shared
2-core machine is only meaningful on a quiet one.
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

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
HOST = "pyweb-converge"
EXAMPLE = ROOT / "examples" / "apps" / "sync_api"
RECAP = re.compile(r"^\S+\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)",
                   re.MULTILINE)
# The targets, in seconds: name -> (threshold, what it is measured on).
TARGETS = {
    "demo_no_change": (20.0, "demo site.yml, no change"),
    "apps_no_change": (45.0, "most apps on one host, no change"),
    "slope_no_change": (3.0, "extra no-change cost per app"),
    "slope_fresh": (20.0, "extra fresh cost per app"),
    "demo_fresh": (60.0, "fresh demo converge"),
}


# profile_tasks (ansible.cfg) prints, under each task's header, how long the task before it took;
# a deploy's preview is this task of the gunicorn role. (Its recap at the end lists a task that a
# loop of includes ran once per app only once.)
TASK_HEADER = re.compile(r"^(?:TASK \[(?P<task>.*)\]|PLAY RECAP|TASKS RECAP) \*+\n.*?\((?P<h>\d+):(?P<m>\d+):(?P<s>[0-9.]+)\)",
                         re.MULTILINE)
PREVIEW_TASK = "Run the new release on a private socket and ask its health path"


def previews(output: str) -> list[float]:
    """The seconds of each preview (health before live) the run made: one per deployed app."""
    headers = list(TASK_HEADER.finditer(output))
    return [round(int(after["h"]) * 3600 + int(after["m"]) * 60 + float(after["s"]), 2)
            for header, after in zip(headers, headers[1:]) if PREVIEW_TASK in (header["task"] or "")]


def recap(output: str) -> dict:
    """The counts of the play recap's line for the host (the last one printed)."""
    found = RECAP.findall(output)
    if not found:
        raise ValueError("no play recap in the output")
    ok, changed, unreachable, failed, skipped = (int(n) for n in found[-1])
    return {"ok": ok, "changed": changed, "unreachable": unreachable, "failed": failed, "skipped": skipped}


def apps_inventory(directory: Path, count: int) -> Path:
    """An inventory of HOST with `count` copies of the example Flask app, identical but for their names."""
    (directory / "group_vars" / "all").mkdir(parents=True, exist_ok=True)
    (directory / "hosts.yml").write_text(yaml.safe_dump(
        {"all": {"children": {"app": {"hosts": {HOST: None}}, "lb": {"hosts": {}}},
                 "vars": {"ansible_connection": "community.docker.docker"}}}))
    apps = [{"name": f"app-{number:02d}", "src": str(EXAMPLE), "app_module": "app:app", "profile": "io",
             "env": {"HELLO_MESSAGE": "Hello"}, "secrets": {"SECRET_KEY": "bench-not-secret"}}
            for number in range(1, count + 1)]
    (directory / "group_vars" / "all" / "apps.yml").write_text(yaml.safe_dump({"pyweb_apps": apps}))
    return directory


def converge(command: list[str], log: Path) -> dict:
    """One run of a playbook against HOST: wall seconds and the recap's counts."""
    start = time.monotonic()
    # Every task's time in the recap, not only the slowest 20: the previews are read from it.
    env = dict(os.environ, ANSIBLE_PROFILE_TASKS_TASK_OUTPUT_LIMIT="all")
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False, env=env)
    seconds = time.monotonic() - start
    log.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed (exit {done.returncode}), see {log}")
    return {"seconds": round(seconds, 1), "previews": previews(done.stdout), **recap(done.stdout)}


def series(name: str, command: list[str], repeat: int, logs: Path) -> dict:
    """A fresh host, a converge, then `repeat` converges that should change nothing."""
    host = str(ROOT / "scripts" / "host.sh")
    subprocess.run([host, "remove", HOST], check=True)
    subprocess.run([host, "create", HOST], check=True)
    fresh = converge(command, logs / f"converge-{name}-fresh.log")
    print(f"{name}: fresh {fresh['seconds']:.1f} s ({fresh['ok']} tasks, {fresh['changed']} changed)", flush=True)
    again = []
    for number in range(1, repeat + 1):
        run = converge(command, logs / f"converge-{name}-again-{number}.log")
        print(f"{name}: again {run['seconds']:.1f} s ({run['ok']} tasks, {run['changed']} changed)", flush=True)
        again.append(run)
    return {"fresh": fresh, "again": again, "no_change": statistics.median(run["seconds"] for run in again)}


def slope(points: dict[int, float]) -> float:
    """Seconds per extra app, from the fewest apps to the most."""
    low, high = min(points), max(points)
    return (points[high] - points[low]) / (high - low) if high > low else 0.0


def target(key: str, value: float, note: str = "") -> dict:
    threshold, what = TARGETS[key]
    return {"target": what, "threshold": threshold, "value": round(value, 1), "met": value <= threshold and not note,
            "note": note}


def summarise(demo: dict | None, apps: dict[int, dict]) -> dict:
    """Every case and its targets; a no-change run that changed something misses its target."""
    def unchanged(case):
        return all(run["changed"] == 0 for run in case["again"])

    changed_note = "a repeated run changed something"
    targets = []
    if demo:
        targets.append(target("demo_no_change", demo["no_change"], "" if unchanged(demo) else changed_note))
        targets.append(target("demo_fresh", demo["fresh"]["seconds"]))
    if apps:
        most = max(apps)
        every = all(unchanged(case) for case in apps.values())
        targets.append({**target("apps_no_change", apps[most]["no_change"], "" if every else changed_note),
                        "target": f"{most} apps on one host, no change"})
        if len(apps) > 1:
            targets.append(target("slope_no_change", slope({n: c["no_change"] for n, c in apps.items()}),
                                  "" if every else changed_note))
            targets.append(target("slope_fresh", slope({n: c["fresh"]["seconds"] for n, c in apps.items()})))
    return {"demo": demo, "apps": {str(n): apps[n] for n in sorted(apps)}, "targets": targets}


def preview_note(what: str, run: dict) -> list[str]:
    """What the previews (health before live) cost in a fresh run: every deployed app has one."""
    times = run.get("previews") or []
    if not times:
        return []
    return [f"Health before live: the {len(times)} previews of {what} took {sum(times):.1f} s of its "
            f"{run['seconds']:.1f} s, {statistics.median(times):.1f} s per deploy (median; the release's own "
            "server started with one worker on a private socket, asked its health path, stopped).", ""]


def markdown(result: dict) -> str:
    lines = [f"Measured on {result.get('date', 'an unknown date')}; load average (1 min) before the first run "
             f"{result.get('load_before', 'unknown')}, after the last {result.get('load_after', 'unknown')} "
             f"({os.cpu_count()} vCPUs): a figure taken on a busy machine reads slower. "
             f"ansible-core {result.get('ansible_core', 'unknown')}, docker connection, pipelining on.", ""]
    demo = result.get("demo")
    if demo:
        lines += ["| converge of the demo inventory (2 apps, Nginx, TLS, metrics) | seconds | tasks run | changed "
                  "| skipped |", "|---|---:|---:|---:|---:|"]
        rows = [("fresh host", demo["fresh"])] + [(f"again, run {n}", run) for n, run in enumerate(demo["again"], 1)]
        for label, run in rows:
            lines.append(f"| {label} | {run['seconds']:.1f} | {run['ok']} | {run['changed']} | {run['skipped']} |")
        lines.append("")
        lines += preview_note("the fresh demo converge", demo["fresh"])
    if result.get("apps"):
        lines += ["| apps on the host (`pyweb.stack.apps`, copies of the example Flask app) | fresh converge, s "
                  "| run that changes nothing (median), s | tasks in that run | changed |",
                  "|---:|---:|---:|---:|---:|"]
        for count, case in result["apps"].items():
            last = case["again"][-1] if case["again"] else case["fresh"]
            lines.append(f"| {count} | {case['fresh']['seconds']:.1f} | {case['no_change']:.1f} | {last['ok']} "
                         f"| {max(run['changed'] for run in case['again']) if case['again'] else '-'} |")
        lines.append("")
        most = max(result["apps"], key=int)
        lines += preview_note(f"the fresh converge of {most} apps", result["apps"][most]["fresh"])
    lines += ["| target | threshold | measured | met |", "|---|---:|---:|---|"]
    for item in result["targets"]:
        met = "yes" if item["met"] else "**no**" + (f" ({item['note']})" if item.get("note") else "")
        lines.append(f"| {item['target']} | ≤ {item['threshold']:g} s | {item['value']:.1f} | {met} |")
    return "\n".join(lines) + "\n"


def chart(result: dict, path: Path) -> None:
    """Seconds against apps on the host, fresh and no-change, with the demo's two figures beside."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = [int(n) for n in result["apps"]]
    figure, axes = plt.subplots(figsize=(7, 4.2))
    if counts:
        axes.plot(counts, [result["apps"][str(n)]["fresh"]["seconds"] for n in counts], "o-", label="fresh converge")
        axes.plot(counts, [result["apps"][str(n)]["no_change"] for n in counts], "s-",
                  label="run that changes nothing")
    if result.get("demo"):
        axes.plot([2], [result["demo"]["fresh"]["seconds"]], "^", color="tab:blue", label="demo site.yml, fresh")
        axes.plot([2], [result["demo"]["no_change"]], "v", color="tab:orange", label="demo site.yml, no change")
    axes.set_xlabel("apps on one host")
    axes.set_ylabel("seconds (wall)")
    axes.set_title(f"Converge time against apps ({result.get('date', '')})")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def ansible_core() -> str:
    done = subprocess.run(["ansible", "--version"], capture_output=True, text=True, check=False)
    found = re.search(r"core ([0-9.]+)", done.stdout)
    return found.group(1) if found else "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2, help="runs that change nothing after each fresh one")
    parser.add_argument("--apps", default="1,5,10", help="app counts of the per-app series (empty: none)")
    parser.add_argument("--no-demo", action="store_true", help="leave out the demo's series")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--keep", action="store_true", help="leave the last host container running")
    args = parser.parse_args()
    counts = sorted({int(n) for n in args.apps.split(",") if n.strip()})
    args.out.mkdir(parents=True, exist_ok=True)
    logs = ROOT / ".state" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    work = ROOT / ".state" / "bench-converge"
    load_before = round(os.getloadavg()[0], 1)
    try:
        demo = None if args.no_demo else series(
            "demo", ["ansible-playbook", "-i", "inventory/demo", "-e", f"ansible_host={HOST}", "site.yml"],
            args.repeat, logs)
        apps = {}
        for count in counts:
            inventory = apps_inventory(work / f"apps-{count}", count)
            apps[count] = series(f"apps-{count}", ["ansible-playbook", "-i", str(inventory), "pyweb.stack.apps"],
                                 args.repeat, logs)
    finally:
        if not args.keep:
            subprocess.run([str(ROOT / "scripts" / "host.sh"), "remove", HOST], check=False)
    result = summarise(demo, apps)
    result.update(date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), load_before=load_before,
                  load_after=round(os.getloadavg()[0], 1), ansible_core=ansible_core())
    (args.out / "converge.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "converge.md").write_text(markdown(result))
    if counts:
        chart(result, args.out / "converge.png")
    print()
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
