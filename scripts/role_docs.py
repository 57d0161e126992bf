"""Render each role's variable table from its meta/argument_specs.yml, and the app entry's spec.

The argument spec is the single source of truth for a role's variables: Ansible validates every
run against it, and this script writes the tables in README files from it, between the markers

    <!-- BEGIN VARIABLES: <role> -->          (the role's main entry point)
    <!-- BEGIN VARIABLES: <role>:<entry> -->  (another entry point, e.g. apps:entry)
    <!-- END VARIABLES: <role> -->

An app entry of pyweb_apps (roles/apps) sets the app and gunicorn roles' variables under their
names without the prefix; its spec, the entry point `entry` of roles/apps/meta/argument_specs.yml,
is generated here from those two roles' specs by the same rule the deploy maps entries with
(plugins/filter/pyweb_apps.py), so the contract cannot drift from the roles.

    scripts/role_docs.py           rewrite the entry spec and the tables in README.md and roles/*/README.md
    scripts/role_docs.py --check   exit 1 when any of them differs from the specs (used by the tests)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml
from collection_import import load_plugin

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(
    r"(<!-- BEGIN VARIABLES: (?P<role>[\w:-]+) -->\n)(?P<body>.*?)(<!-- END VARIABLES: (?P=role) -->)",
    re.S,
)


APPS_SPEC = ROOT / "roles" / "apps" / "meta" / "argument_specs.yml"
APPS_SPEC_HEADER = """---
# Argument specs of the apps role. The entry point `entry` (one entry of pyweb_apps) is generated
# by scripts/role_docs.py from the app and gunicorn roles' specs: change those, then run it.
"""


def load_spec(role: str) -> dict:
    role, _colon, entry = role.partition(":")
    path = ROOT / "roles" / role / "meta" / "argument_specs.yml"
    return yaml.safe_load(path.read_text())["argument_specs"][entry or "main"]


def _entry_options() -> dict:
    module = load_plugin(ROOT / "plugins" / "filter" / "pyweb_apps.py")
    return module.entry_options(load_spec("app")["options"], load_spec("gunicorn")["options"],
                                load_spec("nginx")["options"]["nginx_sites"]["options"])


class _IndentedDumper(yaml.SafeDumper):
    """Indents lists under their key, as yamllint asks."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def apps_spec_text() -> str:
    """roles/apps/meta/argument_specs.yml with its `entry` entry point generated."""
    specs = yaml.safe_load(APPS_SPEC.read_text())
    specs["argument_specs"]["entry"] = {
        "short_description": "One app entry of pyweb_apps (generated from the app, gunicorn and nginx roles' specs).",
        "description": [
            "Each key sets the app or gunicorn role variable of the same name with its role prefix "
            "(timeout sets gunicorn_timeout); a key both roles have (name, mode, user, group) sets "
            "both. A key left out takes the host's value of that role variable (group_vars), else "
            "the role's default. Not in an entry: app_base_dir, app_config_dir, gunicorn_config_dir "
            "and gunicorn_reserved_memory_mb (the host's layout, set them in group_vars), and "
            "app_rollback, gunicorn_app_dir, gunicorn_environment_files and gunicorn_secret_values "
            "(derived from the entry), app_switch and gunicorn_release_dir (set by the deploy's steps). "
            "routes, static and site set no role variable: the proxy play derives the app's upstream "
            "and Nginx locations from them (their keys are those of a site's routes and static in the "
            "nginx role).",
        ],
        "options": _entry_options(),
    }
    body = yaml.dump(specs, Dumper=_IndentedDumper, sort_keys=False, width=88, allow_unicode=True)
    return APPS_SPEC_HEADER + body


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
    if APPS_SPEC.exists():
        text = apps_spec_text()
        if text != APPS_SPEC.read_text():
            stale.append(APPS_SPEC.relative_to(ROOT))
            if not args.check:
                APPS_SPEC.write_text(text)
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
        print("generated spec or variable tables out of date (run scripts/role_docs.py):", *stale, sep="\n  ")
        return 1
    if not args.check:
        print("updated:", *(stale or ["nothing"]), sep="\n  ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
