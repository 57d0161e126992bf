#!/usr/bin/env python3
"""Render each role's variable table from its meta/argument_specs.yml.

The argument spec is the single source of truth for a role's variables: Ansible validates every
run against it, and this script writes the tables in README files from it, between the markers

    <!-- BEGIN VARIABLES: <role> -->
    <!-- END VARIABLES: <role> -->

    scripts/role_docs.py           rewrite the tables in README.md and roles/*/README.md
    scripts/role_docs.py --check   exit 1 when any table differs from the specs (used by the tests)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(
    r"(<!-- BEGIN VARIABLES: (?P<role>[\w-]+) -->\n)(?P<body>.*?)(<!-- END VARIABLES: (?P=role) -->)",
    re.S,
)


def load_spec(role: str) -> dict:
    path = ROOT / "roles" / role / "meta" / "argument_specs.yml"
    return yaml.safe_load(path.read_text())["argument_specs"]["main"]


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def _default(option: dict) -> str:
    if "default" not in option:
        return "*required*" if option.get("required") else ""
    return f"`{_cell(json.dumps(option['default']))}`"


def _type(option: dict) -> str:
    kind = option.get("type", "str")
    if kind == "list" and option.get("elements"):
        kind = f"list of {option['elements']}"
    return kind


def _description(option: dict) -> str:
    text = option.get("description", "")
    if isinstance(text, list):
        text = " ".join(text)
    text = _cell(text)
    if option.get("choices"):
        text += " One of: " + ", ".join(f"`{c}`" for c in option["choices"]) + "."
    return text


def rows(options: dict, prefix: str = "") -> list[str]:
    """One table row per option, nested options flattened as `parent[].child` or `parent.child`."""
    out = []
    for name in sorted(options):
        option = options[name] or {}
        label = f"{prefix}{name}"
        out.append(f"| `{label}` | {_type(option)} | {_default(option)} | {_description(option)} |")
        if option.get("options"):
            sep = "[]." if option.get("type") == "list" else "."
            out.extend(rows(option["options"], f"{label}{sep}"))
    return out


def table(role: str) -> str:
    spec = load_spec(role)
    head = ["| Variable | Type | Default | Description |", "|---|---|---|---|"]
    return "\n".join(head + rows(spec.get("options", {}))) + "\n"


def readmes() -> list[Path]:
    return [ROOT / "README.md", *sorted(ROOT.glob("roles/*/README.md"))]


def render(text: str) -> str:
    return MARKER.sub(lambda m: m.group(1) + table(m.group("role")) + m.group(4), text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report drift instead of rewriting")
    args = parser.parse_args()
    stale = []
    for path in readmes():
        if not path.exists():
            continue
        text = path.read_text()
        new = render(text)
        if new != text:
            stale.append(path.relative_to(ROOT))
            if not args.check:
                path.write_text(new)
    if args.check and stale:
        print("variable tables out of date (run scripts/role_docs.py):", *stale, sep="\n  ")
        return 1
    if not args.check:
        print("updated:", *(stale or ["nothing"]), sep="\n  ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
