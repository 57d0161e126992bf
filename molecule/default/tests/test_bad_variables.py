"""Bad input to the roles (issue 7): every invalid variable set in bad_variables.yml (next to this
file) makes site.yml fail in its preflight, before anything on any host changes, with a message
that names the variable; the running stack is the same afterwards (files, release links, pids).

The failure messages are also written to .state/bad-input-messages.json, from which
scripts/bad_input_docs.py folds them into docs/bad-input.md.
"""

import copy
import json
import os
import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from pyweb_testlib import RELEASE_REPEAT, ROOT, run_playbook

CASES = yaml.safe_load((Path(__file__).resolve().parent / "bad_variables.yml").read_text())["cases"]
GROUP_VARS = ROOT / "inventory" / "demo" / "group_vars" / "all"
MESSAGES = ROOT / ".state" / "bad-input-messages.json"
APPS = ("sync-api", "async-api")
# The cases run together, in one ansible-playbook run against an inventory that names the test
# host once per case (`bad-<id>`, each with its case's variables as host variables): a run per
# case spent most of its five seconds starting Ansible and loading the collection (52 cases: 281 s
# one after another, about a third of that together). A variable the playbooks set themselves
# (a play's vars beat host variables; only extra vars beat those) gets a run of its own.
FORKS = 8

# Everything a run could change: the files under the daemons' config folders and the apps' units
# (content, mode, owner, mtime, link target), each app's release link, and the process ids of
# every service's main process and its children (a reload replaces Nginx's and Gunicorn's
# workers while keeping the main process).
SNAPSHOT = r"""
set -u
units=""
for app in {apps}; do units="$units /etc/systemd/system/$app.service /etc/systemd/system/$app.socket"; done
find /etc/nginx /etc/gunicorn /etc/pyweb $units \( -type f -o -type l \) \
     -printf '%p %y %m %u:%g %T@ %l\n' 2>&1 | sort
find /etc/nginx /etc/gunicorn /etc/pyweb $units -type f -print0 2>/dev/null | sort -z | xargs -0 sha256sum
for app in {apps}; do echo "/srv/$app/current -> $(readlink /srv/$app/current)"; done
for unit in nginx {apps}; do
  pid=$(systemctl show --property MainPID --value "$unit")
  echo "$unit main=$pid children=$(pgrep -P "$pid" | sort -n | tr '\n' ' ')"
done
""".format(apps=" ".join(APPS))

PATH_STEP = re.compile(r"\[(\d+)\]|\.([A-Za-z_][\w-]*)")


def demo_vars():
    """The demo inventory's variables for every host, as the test host gets them."""
    merged = {}
    for path in sorted(GROUP_VARS.glob("*.yml")):
        merged.update(yaml.safe_load(path.read_text()) or {})
    return merged


def split_path(path):
    """'pyweb_apps[1].workers' -> ('pyweb_apps', [1, 'workers'])."""
    name = re.match(r"[A-Za-z_]\w*", path).group(0)
    rest, steps = path[len(name):], []
    while rest:
        step = PATH_STEP.match(rest)
        assert step, f"bad path {path!r} in bad_variables.yml"
        steps.append(int(step.group(1)) if step.group(1) is not None else step.group(2))
        rest = rest[step.end():]
    return name, steps


def extra_vars(changes):
    """Apply a case's path -> value changes to the demo variables; return every touched variable whole."""
    base, result = demo_vars(), {}
    for path, value in changes.items():
        name, steps = split_path(path)
        if not steps:
            result[name] = copy.deepcopy(value)
            continue
        result.setdefault(name, copy.deepcopy(base[name]))
        target = result[name]
        for step in steps[:-1]:
            target = target[step]
        last = steps[-1]
        if isinstance(target, list) and last == len(target):
            target.append(copy.deepcopy(value))
        else:
            target[last] = copy.deepcopy(value)
    return result


def failure_messages(output):
    """The msg of every failed task result (the default callback prints them as JSON here)."""
    messages = []
    for line in output.splitlines():
        if re.match(r"^(fatal|failed): \[", line) and "=> {" in line:
            try:
                result = json.loads(line.split("=> ", 1)[1])
            except ValueError:
                continue
            if result.get("msg"):
                messages.append(str(result["msg"]))
    return messages


def record_message(case_id, message):
    """Keep the real message of each case for docs/bad-input.md, with the commit it came from."""
    MESSAGES.parent.mkdir(exist_ok=True)
    data = json.loads(MESSAGES.read_text()) if MESSAGES.exists() else {}
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, check=False).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, check=False).stdout.strip()
    data.setdefault("cases", {})[case_id] = message
    data["run"] = {
        "commit": head + (" with uncommitted changes" if dirty else ""),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "scenario": os.environ.get("MOLECULE_SCENARIO_NAME", "default"),
    }
    MESSAGES.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


@pytest.fixture(scope="module")
def json_results():
    with pytest.MonkeyPatch.context() as patch:
        # One JSON object per failed result, whatever ansible.cfg says: the messages are parsed from it.
        patch.setenv("ANSIBLE_CALLBACK_RESULT_FORMAT", "json")
        # On one line each (ansible-core 2.21 indents them when it thinks a person reads the output).
        patch.setenv("ANSIBLE_CALLBACK_FORMAT_PRETTY", "false")
        yield


def snapshot(host):
    result = host.run(SNAPSHOT)
    assert result.rc == 0, result.stderr
    return result.stdout


def test_cases_are_well_formed():
    ids = [case["id"] for case in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 15
    for case in CASES:
        assert case["description"] and case["set"] and case["expect"], case["id"]
        json.dumps(extra_vars(case["set"]))


def applies(case, release):
    """Why a case does not run on this host, or "" when it does. Most cases are refused on the
    controller whatever the host runs: once per `make test` is enough. A case with `debian:` is
    refused on that release only (and passes on the others)."""
    if case.get("debian") and str(case["debian"]) != release:
        return f"refused on Debian {case['debian']} only; this host runs Debian {release}"
    if not case.get("debian") and RELEASE_REPEAT:
        return "refused on the controller whatever the release; ran on the default release"
    return ""


def runs_alone(case):
    """Whether a case sets a variable the playbooks set at play level (named with two underscores):
    only extra vars override those, and they would apply to every case of a shared run."""
    return any(path.startswith("__") for path in case["set"])


def case_host(case):
    return f"bad-{case['id']}"


def shared_inventory(cases):
    """An inventory beside the scenario's, with the scenario's host once per case: the same
    connection, the case's variables as host variables, and the scenario's group_vars (they
    sit next to its inventory file)."""
    source = Path(os.environ["MOLECULE_INVENTORY_FILE"])
    inventory = yaml.safe_load(source.read_text())
    hosts = inventory["all"]["hosts"]
    (name, connection), = hosts.items()
    # The same container under another inventory name: the docker connection takes its name from
    # ansible_host.
    connection = {**(connection or {}), "ansible_host": name}
    # Each case host is its own load balancer's only app host: the routes of one case's entries
    # must not reach another case's Nginx.
    cases_hosts = {case_host(case): {**connection, "pyweb_proxy_app_hosts": [case_host(case)],
                                     **extra_vars(case["set"])} for case in cases}
    path = source.with_name("bad-variables.yml")
    path.write_text(yaml.safe_dump({"all": {"hosts": cases_hosts, "children": {
        "lb": {"hosts": dict.fromkeys(cases_hosts)}, "app": {"hosts": dict.fromkeys(cases_hosts)}}}}))
    return path


def host_output(output, name):
    """The lines of a shared run about one host: its results (failures as one JSON line each) and
    its recap line."""
    return "\n".join(line for line in output.splitlines()
                     if f"[{name}]" in line or line.startswith(f"{name} "))


@pytest.fixture(scope="module")
def refusals(host, json_results):
    """Every case that applies, run against the deployed stack: case id -> what the run printed
    about it, with the stack's snapshot before the first run and after the last."""
    release = host.file("/etc/debian_version").content_string.split(".")[0]
    before = snapshot(host)
    # The stack is there to be kept: both apps run a release.
    assert all(re.search(rf"^/srv/{app}/current -> \S*releases/\w+$", before, re.M) for app in APPS), before
    cases = [case for case in CASES if not applies(case, release)]
    runs = {case["id"]: run_playbook(ROOT / "site.yml", extra_vars(case["set"]), expect_success=False)
            for case in cases if runs_alone(case)}
    shared = [case for case in cases if not runs_alone(case)]
    if shared:
        inventory = shared_inventory(shared)
        try:
            output = run_playbook(ROOT / "site.yml", expect_success=False, inventory=inventory,
                                  args=("--forks", str(FORKS)))
        finally:
            inventory.unlink()
        runs.update({case["id"]: host_output(output, case_host(case)) for case in shared})
        # Every case's host failed in the preflight play, so the run stopped there.
        assert "PLAY [Deploy the Python apps under Gunicorn]" not in output, output[-4000:]
    return {"release": release, "before": before, "after": snapshot(host), "runs": runs}


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_bad_variables_fail_before_any_change(refusals, case):
    reason = applies(case, refusals["release"])
    if reason:
        pytest.skip(reason)
    output = refusals["runs"][case["id"]]

    messages = failure_messages(output)
    searchable = "\n".join([output, *messages])
    for fragment in case["expect"]:
        assert fragment in searchable, f"{case['id']}: {fragment!r} missing from:\n" + "\n".join(messages or [output])
    # The preflight play refused it: no later play started and no task changed anything.
    assert "PLAY [Deploy the Python apps under Gunicorn]" not in output
    assert not re.search(r"^changed: ", output, re.M), output[-4000:]
    recap = re.findall(r"^(\S+)\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)", output, re.M)
    assert recap, output[-3000:]
    assert all(changed == "0" for _unused, changed, _unused in recap), recap
    assert any(failed != "0" for _unused, _unused, failed in recap), recap
    record_message(case["id"], next((m for m in messages if case["expect"][0] in m), messages[0] if messages else ""))


def test_no_refused_run_changed_the_stack(refusals):
    """Files, release links and process ids are the same after every case as before the first."""
    assert refusals["after"] == refusals["before"]
