"""The preview (roles/gunicorn/tasks/preview.yml, files/pyweb-preview): the command line the role
hands the script for either server, and the script's own steps with systemd replaced by stubs and a
real HTTP server on the preview's unix socket."""

import http.server
import os
import socketserver
import threading
from types import SimpleNamespace

import pytest

from conftest import ROOT, gunicorn_templated, load_plugin

SCRIPT = ROOT / "roles/gunicorn/files/pyweb_preview.py"
FACTS = {"__gunicorn_release": "/srv/shop/releases/b", "__gunicorn_venv": "/srv/shop/venvs/b",
         "gunicorn_environment_files": ["/etc/pyweb/shop/environment"]}


def load_script():
    return load_plugin(SCRIPT)


def argv(**overrides):
    sizing = {"worker_class": "gthread", "workers": 5, "threads": 4, "worker_connections": 1000}
    return gunicorn_templated("{{ __gunicorn_preview_argv }}", **FACTS, __gunicorn_sizing=sizing, **overrides)


def test_gunicorn_previews_a_copy_of_the_config_with_one_worker_on_the_private_socket():
    args = argv()
    split = args.index("--")
    assert args[:8] == ["/usr/local/sbin/pyweb-preview", "--config", "/etc/gunicorn/shop.conf.py",
                        "--chdir", "/srv/shop/releases/b", "shop_preview", "/healthz", "30"]
    # As the service runs: its user, environment files and sandbox.
    assert {"--property=User=shop", "--property=EnvironmentFile=/etc/pyweb/shop/environment",
            "--property=ProtectSystem=strict", "--property=ReadOnlyPaths=/run"} <= set(args[8:split])
    assert "--property=SystemCallFilter=@chown" in args[8:split]
    assert args[split + 1:] == ["/srv/shop/venvs/b/bin/gunicorn", "--config", "{config}", "--bind", "unix:{socket}",
                                "--workers", "1"]


def test_gunicorn_with_metrics_gets_a_counter_directory_of_its_own():
    args = argv(gunicorn_metrics_listen="127.0.0.1:9101")
    assert "--setenv=PROMETHEUS_MULTIPROC_DIR=/run/shop_preview" in args
    assert "--setenv=PROMETHEUS_MULTIPROC_DIR=/run/shop_preview" not in argv()


def test_granian_previews_its_own_config_on_the_private_socket_with_one_worker():
    args = argv(gunicorn_server="granian", gunicorn_profile="io")
    split = args.index("--")
    assert "--config" not in args[:split] and "--chdir" not in args[:split]
    # Granian binds its socket without chown, as its service does: the sandbox stays as it is.
    assert "--property=SystemCallFilter=@chown" not in args
    assert "--setenv=PYWEB_GRANIAN_CONFIG=/etc/gunicorn/shop.granian.toml" in args[:split]
    server = args[split + 1:]
    assert server[:7] == ["/srv/shop/venvs/b/bin/granian", "--interface", "wsgi", "--http", "1", "--uds", "{socket}"]
    # The service's own socket and port never appear; the last --workers wins.
    assert "--host" not in server and server.count("--uds") == 1
    assert server[-4:] == ["--workers", "1", "--factory", "/etc/gunicorn/pyweb_granian.py:load"]


@pytest.mark.parametrize("bad", [
    ["shop_preview", "/healthz", "30", "gunicorn"],  # no --
    ["shop_preview", "healthz", "30", "--", "gunicorn"],
    ["shop preview", "/healthz", "30", "--", "gunicorn"],
    ["shop_preview", "/healthz", "soon", "--", "gunicorn"],
    ["--config", "/etc/gunicorn/shop.conf.py", "shop_preview", "/healthz", "30", "--", "gunicorn"],
    ["--config", "/c", "--chdir", "/srv/shop/releases/b'; x", "shop_preview", "/healthz", "30", "--", "g"],
])
def test_bad_arguments_are_refused(bad):
    assert load_script().main(bad) == 2


class Answer(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):  # noqa: N802  (the standard library's name)
        self.send_response(self.status)
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}' if self.status == 200 else b'{"status": "broken"}')

    def log_message(self, *args):
        pass


class UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


@pytest.fixture
def host(tmp_path, monkeypatch):
    """The script with its runtime root under tmp_path, and systemd stubbed: systemd-run "starts" a
    server on the preview's socket answering `status`, systemctl reports it active until stopped."""
    script = load_script()
    monkeypatch.setattr(script, "RUN_DIR", str(tmp_path))
    state = SimpleNamespace(status=200, calls=[], server=None, config="")

    def run(args, **_kwargs):
        state.calls.append(args)
        if args[0] == "systemd-run":
            unit = next(a.rsplit("=", 1)[1] for a in args if a.startswith("--property=RuntimeDirectory="))
            (tmp_path / unit).mkdir()
            handler = type("Handler", (Answer,), {"status": state.status})
            state.server = UnixHTTPServer(str(tmp_path / unit / script.SOCKET_NAME), handler)
            threading.Thread(target=state.server.serve_forever, daemon=True).start()
            config = args[args.index("--config") + 1] if "--config" in args else ""
            state.config = open(config, encoding="utf-8").read() if config else ""
            return SimpleNamespace(returncode=0, stdout="", stderr="")
        if args[:2] == ["systemctl", "stop"] and state.server:
            state.server.shutdown()
            state.server.server_close()
            state.server = None
        if args[:2] == ["systemctl", "show"]:
            value = "active" if state.server else "inactive"
            value = "0123abc" if "--property=InvocationID" in args else value
            return SimpleNamespace(returncode=0, stdout=value + "\n", stderr="")
        if args[0] == "journalctl":
            return SimpleNamespace(returncode=0, stdout='"GET /healthz HTTP/1.1" 503\n', stderr="")
        return SimpleNamespace(returncode=0, stdout="", stderr="")

    monkeypatch.setattr(script.subprocess, "run", run)
    config = tmp_path / "shop.conf.py"
    config.write_text('chdir = "/srv/shop/current"\nwhen_ready = _pyweb_metrics.when_ready\n')
    state.args = ["--config", str(config), "--chdir", "/srv/shop/releases/b", "shop_preview", "/healthz", "3",
                  "--property=User=shop", "--", "/srv/shop/venvs/b/bin/gunicorn", "--config", "{config}",
                  "--bind", "unix:{socket}", "--workers", "1"]
    state.script = script
    state.tmp = tmp_path
    return state


def test_a_healthy_release_passes_and_its_server_is_stopped(host, capsys):
    assert host.script.main(host.args) == 0
    started = next(call for call in host.calls if call[0] == "systemd-run")
    assert "--unit=shop_preview.service" in started and "--property=User=shop" in started
    assert f"unix:{host.tmp}/shop_preview/preview.sock" in started
    # The copy imports the new release and leaves the metrics listener to the live service.
    assert host.config.endswith('chdir = \'/srv/shop/releases/b\'\nwhen_ready = lambda server: None\n')
    assert ["systemctl", "stop", "shop_preview.service"] == host.calls[-1]
    assert host.server is None
    # The copy went with its temporary directory.
    assert [p.name for p in host.tmp.iterdir() if p.name.startswith("pyweb-preview.")] == []
    assert capsys.readouterr().out == ""


def test_an_unhealthy_release_fails_with_its_last_answer_and_journal(host, capsys):
    host.status = 503
    assert host.script.main(host.args) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Last answer: 503") and "broken" in out[0]
    assert out[1] == "journalctl _SYSTEMD_INVOCATION_ID=0123abc (shop_preview.service):"
    assert '"GET /healthz HTTP/1.1" 503' in out[2:]
    assert host.server is None


def test_a_server_that_exits_ends_the_wait_early(host, capsys, monkeypatch):
    real = host.script.subprocess.run

    def exits_at_once(args, **kwargs):
        result = real(args, **kwargs)
        if args[0] == "systemd-run":
            real(["systemctl", "stop", "x"])
            os.unlink(host.tmp / "shop_preview" / host.script.SOCKET_NAME)
        return result

    monkeypatch.setattr(host.script.subprocess, "run", exits_at_once)
    assert host.script.main(host.args) == 1
    assert "(the server exited: inactive)" in capsys.readouterr().out
