"""Where the CPU went during one benchmark row: the app's server, Nginx, journald, and the rest.

On a machine where the load generator, Nginx and Python share the cores, a ratio to the dev server
is bounded by what Nginx and wrk spend per request. These figures show that bound instead of
leaving it to be guessed. A snapshot is taken in the host container just before and just after a
measured run:

- each systemd unit's processes: utime + stime + the times of their reaped children, from
  /proc/<pid>/stat, grouped by the unit named in /proc/<pid>/cgroup (works on cgroup v1 and v2);
- the machine's busy time, from /proc/stat (not namespaced: it counts every process of the
  machine, so "rest" is wrk plus anything else that ran, the container engine included).

A worker that exits between the two snapshots takes its time with it unless its parent reaped it;
Gunicorn's master reaps its workers, so recycled workers are counted.
"""

from __future__ import annotations

import json
import subprocess

# Runs inside the host container with its python3; prints one JSON object.
SNAPSHOT = r"""
import json, os, time
clock = os.sysconf("SC_CLK_TCK")
with open("/proc/stat") as f:
    fields = [int(v) for v in f.readline().split()[1:]]
# user nice system idle iowait irq softirq steal ...: busy is everything but idle and iowait.
busy = sum(fields[:8]) - fields[3] - fields[4]
units = {}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            paths = [line.rstrip("\n").split(":", 2)[2] for line in f]
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        continue
    unit = next((p.rsplit("/", 1)[1] for p in paths if p.endswith(".service")), None)
    if unit:
        # Fields 14-17 of stat(5): utime stime cutime cstime (counted after the ") " of comm).
        units[unit] = units.get(unit, 0) + sum(int(v) for v in stat[11:15])
print(json.dumps({"time": time.monotonic(), "busy": busy / clock,
                  "units": {k: v / clock for k, v in units.items()}}))
"""


def snapshot(prefix: list[str]) -> dict:
    """CPU seconds so far: the machine's busy time and each unit's processes (see SNAPSHOT)."""
    done = subprocess.run([*prefix, "python3", "-c", SNAPSHOT], capture_output=True, text=True, timeout=30,
                          check=True)
    return json.loads(done.stdout)


def usage(before: dict, after: dict, app_unit: str, requests: int) -> dict:
    """Cores used on average over the window, by part, and the app's CPU time per request."""
    wall = after["time"] - before["time"]

    def spent(unit):
        return max(0.0, after["units"].get(unit, 0.0) - before["units"].get(unit, 0.0))

    app, nginx, journald = spent(app_unit), spent("nginx.service"), spent("systemd-journald.service")
    busy = max(0.0, after["busy"] - before["busy"])
    rest = max(0.0, busy - app - nginx - journald)
    return {
        "window_s": round(wall, 3),
        "cores": {name: round(seconds / wall, 2) if wall > 0 else 0.0
                  for name, seconds in (("app", app), ("nginx", nginx), ("journald", journald),
                                        ("rest", rest), ("total", busy))},
        "app_us_per_request": round(app * 1e6 / requests) if requests and app_unit else None,
        "total_us_per_request": round(busy * 1e6 / requests) if requests else None,
    }
