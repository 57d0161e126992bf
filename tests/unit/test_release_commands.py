"""Release commands (gunicorn_release_commands, an entry's release_commands): the entry's checks,
the host of a play that runs them, the command line that runs them as the app (rendered by
Ansible's templating from the gunicorn role's vars, then run with systemd-run and systemd-cat
replaced by stubs), and the output the play shows with the secrets' values masked."""

import os
import subprocess

import pytest

from conftest import ROOT, entry_options, gunicorn_templated, load_plugin, load_yaml, role_options

contract = load_plugin(ROOT / "plugins/filter/pyweb_apps.py")
checks = load_plugin(ROOT / "plugins/filter/role_checks.py")

APP, GUNICORN = role_options("app"), role_options("gunicorn")
ENTRY = entry_options()
TEMPLATES = str(ROOT / "templates")


def templated(expression, **overrides):
    return gunicorn_templated(expression, **{
        "gunicorn_environment_files": ["/etc/pyweb/shop/environment", "/etc/pyweb/shop/secrets"],
        "__gunicorn_release": "/srv/shop/releases/b", "__gunicorn_venv": "/srv/shop/venvs/b", **overrides})


def app_problems(entry):
    """Both checks an entry meets before anything changes: the entry's, then the roles'."""
    found = contract.pyweb_app_problems({"pyweb_apps": [entry]}, ENTRY)
    if found:
        return found
    selected = contract.pyweb_app_role_vars([entry], ENTRY, APP, GUNICORN)
    return checks.pyweb_app_check_problems(selected, APP, GUNICORN, TEMPLATES)


# The entry -----------------------------------------------------------------------------------

def test_an_entry_takes_a_list_of_commands():
    entry = {"name": "shop", "src": str(ROOT / "examples/apps/sync_api"),
             "release_commands": ["flask --app app db upgrade", "python -m shop.warm_cache"]}
    assert app_problems(entry) == []
    (selected,) = contract.pyweb_app_role_vars([entry], ENTRY, APP, GUNICORN)
    assert selected["gunicorn"]["gunicorn_release_commands"] == entry["release_commands"]


@pytest.mark.parametrize("commands, words", [
    (["flask db upgrade", ""], ["shop: gunicorn_release_commands must be a list of commands", "item 1 is empty"]),
    (["  "], ["shop: gunicorn_release_commands", "item 0 is empty"]),
    # Ansible's list type would split it at its commas and run the halves.
    ("flask db upgrade, warm", ["pyweb_apps[0] (shop).release_commands must be a list of commands", "got a string"]),
    ({"migrate": "flask db upgrade"}, ["pyweb_apps[0] (shop)", "release_commands"]),
])
def test_bad_commands_are_refused_naming_the_key_and_the_app(commands, words):
    entry = {"name": "shop", "src": str(ROOT / "examples/apps/sync_api"), "release_commands": commands}
    message = " ".join(app_problems(entry))
    for word in words:
        assert word in message


def test_the_commands_and_the_secrets_to_mask_reach_the_gunicorn_role():
    entry = {"name": "shop", "secrets": {"SECRET_KEY": "s3cret", "TOKEN": "t0ken"}, "release_commands": ["true"]}
    (selected,) = contract.pyweb_app_role_vars([entry], ENTRY, APP, GUNICORN)
    assert sorted(selected["gunicorn"]["gunicorn_secret_values"]) == ["s3cret", "t0ken"]
    assert GUNICORN["gunicorn_secret_values"]["no_log"] is True
    assert "gunicorn_secret_values" not in ENTRY


def test_the_commands_are_part_of_the_deploys_plan():
    """The plan step compares a digest of the whole app (apps_item) with the last deploy's: a
    changed list of commands is a new plan, so the deploy runs (and with it the commands)."""
    inputs = load_yaml(ROOT / "roles/apps/vars/main.yml")["__apps_record_inputs"]
    assert inputs[0] == "{{ apps_item | to_json | hash('sha256') }}"
    (block,) = load_yaml(ROOT / "roles/apps/tasks/app.yml")
    assert block["vars"]["gunicorn_release_commands"] == "{{ apps_item.gunicorn.gunicorn_release_commands }}"


# The host that runs them ---------------------------------------------------------------------

def host_with(name, state="present", list_name="pyweb_apps"):
    return {list_name: [{"name": "other"}, {"name": name, "state": state}]}


@pytest.mark.parametrize("hostvars, expected", [
    # The first of the play's hosts, whatever batch the current host is in.
    ({"app1": host_with("shop"), "app2": host_with("shop"), "app3": host_with("shop")}, "app1"),
    # A host without the app, or removing it, does not run its commands.
    ({"app1": {"pyweb_apps": [{"name": "other"}]}, "app2": host_with("shop"), "app3": host_with("shop")}, "app2"),
    ({"app1": host_with("shop", state="absent"), "app2": {}, "app3": host_with("shop")}, "app3"),
    # The app lists of a group (pyweb_apps__<suffix>) count too.
    ({"app1": {"pyweb_apps": "not a list"}, "app2": host_with("shop", list_name="pyweb_apps__async"),
      "app3": host_with("shop")}, "app2"),
    ({"app1": {}, "app2": {}, "app3": {}}, ""),
])
def test_the_first_host_of_the_play_with_the_app_runs_the_commands(hostvars, expected):
    assert contract.pyweb_release_commands_host(["app1", "app2", "app3"], "shop", hostvars) == expected


def test_serial_batches_run_the_commands_once_before_the_first_host_switches():
    """A rolling deploy (serial: 1) over three hosts: each batch asks the filter with the same
    ansible_play_hosts_all (the play's hosts, not the batch's); only the first batch's host is
    named, so the commands run once, in the first batch, before its switch. run_once would run
    them in every batch."""
    hostvars = {host: host_with("shop") for host in ("app1", "app2", "app3")}
    ran = [host for batch in (["app1"], ["app2"], ["app3"]) for host in batch
           if contract.pyweb_release_commands_host(["app1", "app2", "app3"], "shop", hostvars) == host]
    assert ran == ["app1"]
    deploy = load_yaml(ROOT / "roles/apps/tasks/app_deploy.yml")[0]["block"]
    steps = [task["name"] for task in deploy]
    run = steps.index("Run the release commands in the new release before it goes live")
    assert steps.index("Install Gunicorn into the new release and check it with the new config and environment") \
        < run < steps.index("Switch current to the checked release")
    assert "inventory_hostname == __apps_release_commands_host" in deploy[run]["when"]
    assert "ansible_play_hosts_all" in load_yaml(ROOT / "roles/apps/vars/main.yml")["__apps_release_commands_host"]
    assert "run_once" not in deploy[run]


# The command line ----------------------------------------------------------------------------

def test_the_commands_run_as_the_service_runs():
    argv = templated("{{ __gunicorn_release_commands_argv }}", gunicorn_release_commands=['flask db upgrade --to "$TARGET"'])
    unit = argv[argv.index("systemd-run"):]
    properties = [arg for arg in unit if arg.startswith("--property=")]
    check = templated("{{ __gunicorn_run_options }}")
    # The import check's user, environment files and sandbox, with the release as working directory.
    assert set(check) - set(properties) == {"--property=WorkingDirectory=/srv/shop"}
    assert "--property=WorkingDirectory=/srv/shop/releases/b" in properties
    assert "--property=User=shop" in properties and "--property=ProtectSystem=strict" in properties
    assert "--property=EnvironmentFile=/etc/pyweb/shop/secrets" in properties
    (environment,) = [arg for arg in properties if arg.startswith("--property=Environment=VIRTUAL_ENV=")]
    assert environment.startswith("--property=Environment=VIRTUAL_ENV=/srv/shop/venvs/b PATH=/srv/shop/venvs/b/bin:")
    # systemd would expand $TARGET in the command line itself (to the manager's value, or nothing):
    # every $ is doubled, which systemd turns back into one.
    assert unit[-5:-3] == ["/bin/sh", "-c"] and unit[-1] == 'flask db upgrade --to "$$TARGET"'
    assert "$" not in unit[-3].replace("$$", "")


@pytest.fixture
def run_commands(tmp_path):
    """Run the rendered command line with systemd-run replaced by a stub that drops its options and
    runs the command in place, with PATH as the unit's Environment= sets it, and systemd-cat by one
    that keeps what the journal would get."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    journal = tmp_path / "journal"
    (bin_dir / "systemd-run").write_text(
        '#!/bin/bash\nwhile [[ $1 == --* ]]; do\n'
        '  [[ $1 == --property=Environment=VIRTUAL_ENV=* ]] && eval "export ${1#--property=Environment=}"\n'
        '  [[ $1 == --property=WorkingDirectory=* ]] && cd "${1#--property=WorkingDirectory=}"\n'
        '  shift\ndone\n'
        '# systemd turns $$ back into $ in a command line.\n'
        'args=(); for arg do args+=("${arg//\\$\\$/\\$}"); done\nexec "${args[@]}"\n')
    (bin_dir / "systemd-cat").write_text(f'#!/bin/bash\necho "[$1]" >>{journal}\ncat >>{journal}\n')
    for stub in bin_dir.iterdir():
        stub.chmod(0o755)
    release, venv = tmp_path / "release", tmp_path / "venv"
    release.mkdir()
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "migrate").write_text('#!/bin/sh\necho "migrated in $(pwd) with $VIRTUAL_ENV"\n')
    (venv / "bin" / "migrate").chmod(0o755)

    def run(commands):
        argv = templated("{{ __gunicorn_release_commands_argv }}", gunicorn_release_commands=commands,
                         __gunicorn_release=str(release), __gunicorn_venv=str(venv))
        env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
        result = subprocess.run(argv, capture_output=True, text=True, check=False, env=env, timeout=30)
        return result, release, venv, journal

    return run


def test_the_commands_run_in_order_in_the_release_with_the_virtualenv_first(run_commands):
    result, release, venv, journal = run_commands(["migrate", "echo second >&2"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "release command: migrate", f"migrated in {release} with {venv}",
        "release command: echo second >&2", "second"]
    assert journal.read_text().splitlines() == ["[--identifier=shop-release]", *result.stdout.splitlines()]


def test_the_first_command_that_fails_stops_them_and_is_named_last(run_commands):
    result, _release, _venv, journal = run_commands(["echo one", "echo broken; exit 3", "echo never"])
    assert result.returncode == 3
    lines = result.stdout.splitlines()
    assert "never" not in result.stdout
    assert lines[-1] == "release command failed (exit status 3): echo broken; exit 3"
    assert lines[-1] in journal.read_text()


# The play's output ---------------------------------------------------------------------------

@pytest.mark.parametrize("secrets, shown", [
    (["s3cret"], "key=******** again ********"),
    # A value that starts another is masked after it: nothing of the longer one shows.
    (["s3", "s3cret"], "key=******** again ********"),
    (["", 42], "key=s3cret again s3cret"),
    ([], "key=s3cret again s3cret"),
    (["a.b*c"], "key=s3cret again s3cret"),
])
def test_the_play_shows_the_output_with_the_secrets_masked(secrets, shown):
    run = {"rc": 0, "stdout": "key=s3cret again s3cret"}
    assert templated("{{ __gunicorn_release_commands_output }}", gunicorn_secret_values=secrets,
                     __gunicorn_release_commands_run=run) == shown


def test_the_commands_output_is_registered_out_of_sight():
    tasks = load_yaml(ROOT / "roles/gunicorn/tasks/release_commands.yml")
    (run,) = [task for task in tasks if "ansible.builtin.command" in task]
    assert run["no_log"] is True and run["failed_when"] is False
    shown = [task for task in tasks if "no_log" not in task]
    assert all("__gunicorn_release_commands_output" in str(task) for task in shown)


def test_the_command_module_leaves_the_dollars_to_the_apps_shell():
    """ansible.builtin.command expands $NAME in each argument with its own environment by default
    (root's $PWD is /): a release command's $PWD reached the app's shell as /."""
    (run,) = [task for task in load_yaml(ROOT / "roles/gunicorn/tasks/release_commands.yml")
              if "ansible.builtin.command" in task]
    assert run["ansible.builtin.command"]["expand_argument_vars"] is False
