"""roles/gunicorn/files/pyweb-gunicorn-check: how the import check hands a candidate config (and a
candidate release, before `current` links to it) to Gunicorn through systemd-run. systemd-run is
replaced by a stub that prints what it was asked to run."""

import os
import shutil
import stat
import subprocess

import pytest

from conftest import ROOT

SCRIPT = ROOT / "roles/gunicorn/files/pyweb-gunicorn-check"


@pytest.fixture
def check(tmp_path):
    """Run a copy of the script whose temporary directories go under tmp_path, not /run."""
    script = tmp_path / "pyweb-gunicorn-check"
    script.write_text(SCRIPT.read_text().replace("mktemp -d /run/", f"mktemp -d {tmp_path}/"))
    script.chmod(0o755)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "systemd-run"
    # Prints each argument on a line, and the candidate copy it would run with.
    stub.write_text('#!/bin/bash\nprintf "%s\\n" "$@"\nfor a; do [[ $prev == --config ]] && cat "$a"; prev=$a; done\n')
    stub.chmod(stub.stat().st_mode | stat.S_IXUSR)
    candidate = tmp_path / "candidate.conf.py"
    candidate.write_text('chdir = "/srv/shop/current"\n')

    def run(*args):
        env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
        return subprocess.run([str(script), *[str(a).replace("CANDIDATE", str(candidate)) for a in args]],
                              capture_output=True, check=False, text=True, env=env)

    return run


def test_the_config_is_checked_as_given(check):
    result = check("CANDIDATE", "/srv/shop/venvs/a/bin/gunicorn", "--property=User=shop")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "--property=User=shop" in lines
    run = lines[lines.index("/srv/shop/venvs/a/bin/gunicorn"):]
    assert run[:3] == ["/srv/shop/venvs/a/bin/gunicorn", "--check-config", "--config"]
    assert "--chdir" not in run
    # The app's user reads a copy of the candidate, which is removed afterwards.
    assert 'chdir = "/srv/shop/current"' in result.stdout
    assert not os.path.exists(run[3])


def test_chdir_points_the_check_at_the_new_release(check):
    """The checked copy ends with a chdir to the new release: it overrides the config's `current`,
    which names the live release (or nothing yet, on a first deploy). Gunicorn's own --chdir
    option would not do: Gunicorn validates the config file's chdir before options apply."""
    result = check("--chdir", "/srv/shop/releases/b", "CANDIDATE", "/srv/shop/venvs/b/bin/gunicorn",
                   "--property=User=shop")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    run = lines[lines.index("/srv/shop/venvs/b/bin/gunicorn"):]
    assert run[:3] == ["/srv/shop/venvs/b/bin/gunicorn", "--check-config", "--config"]
    assert "--chdir" not in run
    assert lines.index("--property=User=shop") < lines.index("/srv/shop/venvs/b/bin/gunicorn")
    copy = result.stdout[result.stdout.index('chdir = "/srv/shop/current"'):]
    namespace = {}
    exec(copy, namespace)  # noqa: S102 - the config as Gunicorn executes it
    assert namespace["chdir"] == "/srv/shop/releases/b"


def test_a_release_path_that_is_not_plain_is_refused(check):
    result = check("--chdir", '/srv/shop/releases/b"; import os', "CANDIDATE", "/srv/gunicorn")
    assert result.returncode == 2
    assert "not a release path" in result.stderr


@pytest.mark.parametrize("args", [[], ["CANDIDATE"], ["--chdir"], ["--chdir", "/srv/x", "CANDIDATE"]])
def test_missing_arguments_print_the_usage(check, args):
    result = check(*args)
    assert result.returncode == 2
    assert "usage:" in result.stderr and "--chdir RELEASE" in result.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed")
def test_the_check_passes_shellcheck():
    result = subprocess.run(["shellcheck", "-S", "warning", str(SCRIPT)], capture_output=True, check=False, text=True)
    assert result.returncode == 0, result.stdout
