"""Which release a deploy records, a rollback returns to, and pruning removes: by deploy history.

Directory times cannot say which release came before which: re-deploying a tree identical to an
older release reuses that release's directory (its id is the tree's digest), so by mtime the
"previous" release would be the wrong one. The app role keeps ``<app>/releases.history``, one
release id per line, oldest first, and this filter plans from it:

* a deploy appends its release (unless it is already the last line);
* a rollback returns to the last release in the history that differs from the current one and
  still exists, and forgets the lines after it, so a second rollback goes one further back;
* a deploy prunes every release that is neither current nor among the last ``keep`` distinct
  releases of the history.

A host deployed before the history existed gets one seeded from its releases' times, the current
release last, so its first rollback still has somewhere to go.
"""

from __future__ import annotations

import os

# Lines kept in the history file: far more than any releases_keep, bounded all the same.
HISTORY_LIMIT = 200


def _ids(releases):
    """Release ids on disk, oldest first (unpack leftovers such as .<id>.unpack are not releases)."""
    found = []
    for item in sorted(releases or [], key=lambda r: r.get("mtime", 0)):
        name = os.path.basename(str(item.get("path", "")).rstrip("/"))
        if name and not name.startswith("."):
            found.append(name)
    return found


def _recent_distinct(history, keep):
    out = []
    for release in reversed(history):
        if release not in out:
            out.append(release)
        if len(out) >= keep:
            break
    return out


def app_release_plan(args):
    """Plan a deploy (``release_id``) or a rollback (``rollback``) from ``args``: history_text (the
    history file, "" when absent), releases (the find module's files under releases/), current
    (the current release id, "" when none), release_id, keep (app_releases_keep), rollback.

    Returns {history: [ids after this run], rollback_to: id or "", prune: [ids to remove]}.
    """
    return plan(**args)


def plan(history_text="", releases=(), current="", release_id="", keep=5, rollback=False):
    """app_release_plan with its arguments spelt out."""
    rollback = str(rollback).lower() in ("true", "1", "yes")
    on_disk = _ids(releases)
    history = [line.strip() for line in str(history_text or "").splitlines() if line.strip()]
    if not history:
        history = [r for r in on_disk if r != current] + ([current] if current else [])
    keep = max(1, int(keep))
    if rollback:
        target = ""
        for index in range(len(history) - 1, -1, -1):
            if history[index] != current and history[index] in on_disk:
                target = history[index]
                history = history[: index + 1]
                break
        return {"history": history[-HISTORY_LIMIT:], "rollback_to": target, "prune": []}
    if release_id and (not history or history[-1] != release_id):
        history.append(release_id)
    history = history[-HISTORY_LIMIT:]
    kept = set(_recent_distinct(history, keep)) | {release_id or current}
    return {
        "history": history,
        "rollback_to": "",
        "prune": [r for r in on_disk if r not in kept],
    }


class FilterModule:
    def filters(self):
        return {"app_release_plan": app_release_plan}
