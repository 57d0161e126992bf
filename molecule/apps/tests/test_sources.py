"""Every source type of the app role deploys and names its release after the source: a git
repository on the host (the commit), an archive and a wheel on the controller (their SHA-256), a
pyproject.toml project without a requirements file; and an offline wheelhouse installs with
--no-index. Each deploys under an app name of its own, so the demo apps stay as they are."""

import hashlib
import subprocess
import sys
import tarfile
import zipfile

from conftest import ROOT, get, main_pid
from pyweb_testlib import release_independent, versioned_copy

EXAMPLE = ROOT / "examples/apps/sync_api"


def app_entry(name, **keys):
    """A pyweb_apps entry for the Flask example under another name, with one worker to stay light."""
    return {"name": name, "app_module": "app:app", "profile": "io", "worker_class": "gthread", "workers": 1, **keys}


def deploy(playbook, entry):
    return playbook("apps.yml", {"pyweb_apps": [entry]})


def example_copy(tmp_path, version, name="sync_api"):
    """The Flask example with VERSION set to `version`."""
    return versioned_copy(EXAMPLE, tmp_path / name, version)


def sha12(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def release_of(host, app):
    target = host.file(f"/srv/{app}/current").linked_to
    assert target.startswith(f"/srv/{app}/releases/"), target
    return target.rsplit("/", 1)[1]


def venv_of(host, app):
    return host.file(f"/srv/{app}/current/venv").linked_to


def version(host, app):
    status, body = get(host, app, "/hello")
    assert status == 200, body
    assert body["app"] == app
    return body["version"]


def assert_code_is_root_owned(host, app, name):
    code = host.file(f"/srv/{app}/current/{name}")
    assert (code.user, code.group, code.mode) == ("root", "root", 0o644)


@release_independent
def test_git_source_is_checked_out_on_the_host_and_named_after_the_commit(host, playbook):
    repo = "/opt/pyweb-tests/src-git"
    # The test's own repository lives on the host and is reached through file://, as a remote would be.
    assert host.ansible("apt", "name=git state=present", check=False, become=True).get("failed") is not True
    host.check_output("rm -rf %s && mkdir -p %s", repo, repo)
    host.ansible("copy", f"src={EXAMPLE}/ dest={repo}/", check=False, become=True)
    git = f"git -C {repo} -c user.name=pyweb -c user.email=pyweb@localhost"
    host.check_output(f"{git} init --quiet --initial-branch main && {git} add app.py requirements.txt static"
                      f" && {git} commit --quiet -m 'version 1'")
    first = host.check_output(f"{git} rev-parse HEAD")
    host.check_output(f"sed -i 's/^VERSION = \"1\"$/VERSION = \"2\"/' {repo}/app.py && {git} commit --quiet -am 'version 2'")
    second = host.check_output(f"{git} rev-parse HEAD")
    assert first != second

    entry = app_entry("src-git", src_type="git", git_repo=f"file://{repo}", git_version=first)
    deploy(playbook, entry)
    assert release_of(host, "src-git") == first[:12]
    assert version(host, "src-git") == "1"
    # Exported from the commit: the tree as committed, without the repository's history.
    assert not host.file("/srv/src-git/current/.git").exists
    # The clone's .git/config keeps the URL, a token in it included: root only.
    clone = host.file("/srv/src-git/git")
    assert (clone.user, clone.group, clone.mode) == ("root", "root", 0o700)
    assert host.run("runuser -u src-git -- cat /srv/src-git/git/.git/config").rc != 0
    assert_code_is_root_owned(host, "src-git", "app.py")
    master, venv = main_pid(host, "src-git"), venv_of(host, "src-git")

    # A branch name resolves to its newest commit; only code changed, so the virtualenv is reused
    # and Gunicorn reloads (same master) instead of restarting.
    deploy(playbook, dict(entry, git_version="main"))
    assert release_of(host, "src-git") == second[:12]
    assert version(host, "src-git") == "2"
    assert venv_of(host, "src-git") == venv
    assert main_pid(host, "src-git") == master
    assert host.file(f"/srv/src-git/releases/{first[:12]}/app.py").exists


def make_tar(src, path):
    with tarfile.open(path, "w:gz") as tar:
        for child in sorted(src.iterdir()):
            tar.add(child, arcname=child.name)
    return path


def make_zip(src, path):
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(src.rglob("*")):
            archive.write(file, file.relative_to(src).as_posix())
    return path


@release_independent
def test_archive_sources_are_unpacked_into_releases_named_after_their_checksum(host, playbook, tmp_path):
    tgz = make_tar(example_copy(tmp_path / "a", "tgz"), tmp_path / "sync_api.tgz")
    entry = app_entry("src-archive", src_type="archive", src=str(tgz))
    deploy(playbook, entry)
    assert release_of(host, "src-archive") == sha12(tgz)
    assert version(host, "src-archive") == "tgz"
    assert_code_is_root_owned(host, "src-archive", "app.py")
    assert host.file("/srv/src-archive/current/static/index.html").is_file
    # Unpacked into a hidden directory and renamed: nothing half-written is left behind.
    assert host.run("ls -A /srv/src-archive/releases | grep -c '^\\.'").stdout.strip() == "0"

    archive = make_zip(example_copy(tmp_path / "z", "zip"), tmp_path / "sync_api.zip")
    deploy(playbook, dict(entry, src=str(archive)))
    assert release_of(host, "src-archive") == sha12(archive)
    assert version(host, "src-archive") == "zip"
    assert_code_is_root_owned(host, "src-archive", "app.py")


TINY_APP = '''"""A WSGI app without dependencies, shipped as a package."""
import json
import os

VERSION = "{version}"


def app(environ, start_response):
    name = os.environ.get("APP_NAME", "tiny")
    path = environ.get("PATH_INFO", "/")
    if path == "/healthz":
        status, body = "200 OK", {{"status": "ok", "app": name}}
    elif path == "/hello":
        status, body = "200 OK", {{"app": name, "framework": "wsgi", "message": "Hello from a package",
                                   "version": VERSION, "module": __file__}}
    else:
        status, body = "404 Not Found", {{"app": name}}
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]
'''

PYPROJECT = """[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "pyweb-tiny"
version = "{version}"

[tool.setuptools]
py-modules = ["tinyapp"]
"""


def tiny_project(path, version, package_version):
    """A one-module project whose /hello answers `version`."""
    path.mkdir(parents=True)
    (path / "pyproject.toml").write_text(PYPROJECT.format(version=package_version))
    (path / "tinyapp.py").write_text(TINY_APP.format(version=version))
    return path


@release_independent
def test_wheel_and_pyproject_sources_install_into_a_virtualenv_of_their_own(host, playbook, tmp_path):
    project = tiny_project(tmp_path / "wheel-src", "wheel-1", "1.0")
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dist), str(project)],
                   check=True, capture_output=True)
    (wheel,) = dist.glob("*.whl")
    entry = app_entry("src-wheel", src_type="package", src=str(wheel), app_module="tinyapp:app")
    deploy(playbook, entry)
    release = release_of(host, "src-wheel")
    assert release == sha12(wheel)
    assert host.file(f"/srv/src-wheel/current/{wheel.name}").is_file
    status, body = get(host, "src-wheel", "/hello")
    assert (status, body["version"]) == (200, "wheel-1")
    # The code runs from the virtualenv it was installed into, which belongs to this release.
    assert "/site-packages/tinyapp.py" in body["module"]
    wheel_venv = venv_of(host, "src-wheel")
    assert "installed: package" in host.file(f"{wheel_venv}/.pyweb-venv").content_string

    # A directory with a pyproject.toml and no requirements file: the release itself is installed.
    project = tiny_project(tmp_path / "pyproject-src", "pyproject-2", "2.0")
    deploy(playbook, dict(entry, src_type="directory", src=str(project)))
    assert release_of(host, "src-wheel") != release
    status, body = get(host, "src-wheel", "/hello")
    assert (status, body["version"]) == (200, "pyproject-2")
    venv = venv_of(host, "src-wheel")
    assert venv != wheel_venv
    assert "installed: project" in host.file(f"{venv}/.pyweb-venv").content_string
    assert host.run(f"{venv}/bin/python -m pip show pyweb-tiny").rc == 0


def test_wheelhouse_installs_offline_into_a_new_virtualenv(host, playbook, tmp_path):
    online = app_entry("src-offline", src=str(EXAMPLE))
    deploy(playbook, online)
    online_venv = venv_of(host, "src-offline")
    assert "--no-index" not in host.file(f"{online_venv}/.pyweb-venv").content_string

    # The requirements gain a package; the wheelhouse holds every wheel they need, made here.
    src = example_copy(tmp_path, "offline")
    with (src / "requirements.txt").open("a") as requirements:
        requirements.write("six==1.17.0\n")
    wheelhouse = tmp_path / "wheelhouse"
    # Wheels for the host's interpreter (3.11 on Debian 12, 3.13 on 13), not the controller's:
    # compiled ones such as setproctitle's are built per Python version.
    python = host.check_output("python3 -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])'")
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
                    "--python-version", python, "--dest", str(wheelhouse),
                    "--requirement", str(src / "requirements.txt")], check=True, capture_output=True)
    master = main_pid(host, "src-offline")
    deploy(playbook, dict(online, src=str(src), wheelhouse=str(wheelhouse)))
    assert version(host, "src-offline") == "offline"
    venv = venv_of(host, "src-offline")
    assert venv != online_venv
    marker = host.file(f"{venv}/.pyweb-venv").content_string
    assert "pip_args: --no-index --find-links /srv/src-offline/wheelhouse" in marker
    assert "no-index = true" in host.file(f"{venv}/pip.conf").content_string
    assert host.run(f"{venv}/bin/python -c 'import six'").rc == 0
    assert host.file("/srv/src-offline/wheelhouse/six-1.17.0-py2.py3-none-any.whl").is_file
    # A new interpreter means a restart, not a reload.
    assert main_pid(host, "src-offline") != master

    # The wheelhouse mode alone names another virtualenv: the online one is not reused.
    deploy(playbook, dict(online, wheelhouse=str(wheelhouse)))
    assert version(host, "src-offline") == "1"
    venv = venv_of(host, "src-offline")
    assert venv != online_venv
    assert "--no-index" in host.file(f"{venv}/.pyweb-venv").content_string


def tree_digest(host, path):
    """Every file of a directory with its SHA-256, as one text."""
    return host.check_output(f"cd {path} && find . -type f | LC_ALL=C sort | xargs sha256sum")


@release_independent
def test_a_reused_release_id_with_other_code_is_refused_and_the_live_release_stays(host, playbook, tmp_path):
    """app_release_id names a release that never changes once made: other code under the same id (a
    changed or a deleted file, another archive) is refused by name, and the live release, its files
    and its answer stay as they were."""
    first = example_copy(tmp_path / "1", "1")
    entry = app_entry("src-named", src=str(first), release_id="v1")
    deploy(playbook, entry)
    assert release_of(host, "src-named") == "v1"
    assert version(host, "src-named") == "1"
    files = tree_digest(host, "/srv/src-named/releases/v1")

    changed = example_copy(tmp_path / "2", "2")
    out = playbook("apps.yml", {"pyweb_apps": [dict(entry, src=str(changed))]}, expect_success=False)
    assert "app_release_id: src-named has a release v1 on the host already" in out, out[-3000:]
    (first / "static" / "index.html").unlink()
    out = playbook("apps.yml", {"pyweb_apps": [entry]}, expect_success=False)
    assert "app_release_id: src-named has a release v1 on the host already" in out, out[-3000:]
    assert tree_digest(host, "/srv/src-named/releases/v1") == files
    assert release_of(host, "src-named") == "v1" and version(host, "src-named") == "1"

    # An archive is recorded with the release it made: another archive under its id is refused.
    archive = dict(entry, src_type="archive", src=str(make_tar(example_copy(tmp_path / "3", "3"), tmp_path / "3.tgz")),
                   release_id="v3")
    deploy(playbook, archive)
    assert version(host, "src-named") == "3"
    other = make_tar(example_copy(tmp_path / "4", "4"), tmp_path / "4.tgz")
    out = playbook("apps.yml", {"pyweb_apps": [dict(archive, src=str(other))]}, expect_success=False)
    assert "app_release_id: src-named has a release v3 on the host already" in out, out[-3000:]
    assert release_of(host, "src-named") == "v3" and version(host, "src-named") == "3"
