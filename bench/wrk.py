"""Run wrk (Debian's package) against one URL and return its figures as a dict.

wrk is bounded by duration and a per-request timeout, so a run always ends; its Lua hook
(report.lua) prints one JSON line that is parsed here instead of wrk's human output. Errors by kind:
connect, read, write, status (non-2xx/3xx), timeout (answered later than the timeout) and
unanswered (still waiting at the end, longer than the timeout).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

LUA = Path(__file__).with_name("report.lua")
MARKER = "PYWEB_RESULT "


class WrkError(RuntimeError):
    pass


def parse(output: str) -> dict:
    """Figures from wrk's output: rates per second and latencies in milliseconds."""
    for line in output.splitlines():
        if line.startswith(MARKER):
            raw = json.loads(line[len(MARKER):])
            break
    else:
        raise WrkError(f"wrk printed no result line:\n{output[-2000:]}")
    seconds = raw["duration_us"] / 1e6
    errors = {k.removeprefix("errors_"): v for k, v in raw.items() if k.startswith("errors_")}
    return {
        "requests": raw["requests"],
        "seconds": round(seconds, 3),
        "rps": round(raw["requests"] / seconds, 1) if seconds else 0.0,
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "sent": raw.get("sent", raw["requests"]),
        "errors": errors,
        "errors_total": sum(errors.values()),
    }


def empty_result(error: str) -> dict:
    """The figures of a row wrk could not measure: zero requests, and why."""
    return {"requests": 0, "seconds": 0.0, "rps": 0.0, "p50_ms": 0.0, "p90_ms": 0.0, "p99_ms": 0.0,
            "max_ms": 0.0, "errors": {}, "errors_total": 0, "failure": error}


def command(url: str, *, connections: int, duration: float, threads: int = 2, timeout: float = 2,
            headers: dict | None = None, lua: str | None = None, prefix: list[str] | None = None) -> list[str]:
    """wrk's argv; `prefix` runs it elsewhere (e.g. `docker exec HOST`), where `lua` is the hook's path."""
    binary = "wrk" if prefix else (shutil.which("wrk") or "wrk")
    args = [*(prefix or []), binary, f"-t{min(threads, connections)}", f"-c{connections}",
            f"-d{max(1, round(duration))}s", f"--timeout={timeout:g}s", "-s", lua or str(LUA)]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    # After `--`: the hook's own argument, the timeout in ms past which a waiting request counts.
    return args + [url, "--", str(round(timeout * 1000))]


def run(url: str, **kwargs) -> dict:
    args = command(url, **kwargs)
    # Hard stop well past wrk's own bound, in case it wedges on a dead server.
    limit = kwargs.get("duration", 10) + kwargs.get("timeout", 2) + 30
    done = subprocess.run(args, capture_output=True, check=False, text=True, timeout=limit)
    if done.returncode != 0:
        raise WrkError(f"{' '.join(args)} exited {done.returncode}: {done.stderr.strip()}")
    return parse(done.stdout)
