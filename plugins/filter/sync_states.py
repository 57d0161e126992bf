# -*- coding: utf-8 -*-
# MIT License (see LICENSE)
"""Compare what a task wants with what pyweb.stack.file_states read on the host, so that a task
that would change nothing is not run at all (one probe per app instead of a round trip per path).
"""

from __future__ import annotations

from ansible_collections.pyweb.stack.plugins.module_utils.systemd_show import parse_show


def path_differs(item, state):
    """Why the host's path is not as `item` wants it, or "" when it is. `item`: path, type
    (directory or link), owner, group, and mode (directories) or target (links)."""
    state = state or {}
    if not state.get("exists"):
        return "missing"
    if state.get("type") != item.get("type", "directory"):
        return f"a {state.get('type')}, not a {item.get('type', 'directory')}"
    for key in ("owner", "group", "mode", "target"):
        if key in item and str(state.get(key)) != str(item[key]):
            return key
    return ""


def sync_paths_to_fix(items, states):
    """The items of `items` whose path differs from what the probe read (states, keyed by path)."""
    return [item for item in items or [] if path_differs(item, (states or {}).get(item["path"]))]


def sync_path_items(items):
    """Path items (path, type directory or link, owner, group, and mode or target) as the files of
    pyweb.stack.sync_files: a directory, or a link to its target."""
    out = []
    for item in items or []:
        if item.get("type", "directory") == "link":
            out.append({"dest": item["path"], "link": item["target"]})
        else:
            out.append({"dest": item["path"], "directory": True,
                        **{key: item[key] for key in ("owner", "group", "mode") if key in item}})
    return out


def sync_unit_states(show_output):
    """`systemctl show --property=Id,LoadState,UnitFileState,ActiveState UNIT...` as
    {unit: {property: value}}."""
    return parse_show(show_output)


class FilterModule:
    def filters(self):
        return {"sync_paths_to_fix": sync_paths_to_fix, "sync_path_items": sync_path_items,
                "sync_unit_states": sync_unit_states}
