"""Loads an app for Granian (gunicorn_server: granian), once in every Granian worker.

The unit runs ``granian --factory /etc/gunicorn/pyweb_granian.py:load`` with PYWEB_GRANIAN_CONFIG
naming the app's TOML config (templates/etc/gunicorn/granian.toml.j2). ``load`` reads that file
each time a worker starts, so after a graceful reload (SIGHUP, one worker at a time) new workers
import the release the config names now, not the one the master started in: Granian itself would
put its start directory first on sys.path and import the old code again.

What Gunicorn does for a pyweb app, ``load`` does here:
* imports ``module:variable`` or ``module:factory(args)`` like Gunicorn's wsgi_app, from the
  release directory, which is also the working directory (apps that read files next to their code);
* sets PYWEB_RELEASE (the release's directory name), as Gunicorn's raw_env does;
* trusts X-Forwarded-For and -Proto from the proxy, as granian.utils.proxies does with Gunicorn's
  forwarded_allow_ips, and hands X-Forwarded-Prefix to the app as Gunicorn's workers do
  (pyweb_gunicorn.py, the file next to this one), in one layer (WSGIFromProxy, ASGIFromProxy).

And one thing Gunicorn does not need: Granian copies the whole process environment into every
WSGI environ, secrets included, where error reporters and debug pages print it. ``load`` takes the
names the secrets file lists in PYWEB_SECRET_NAMES (the app role writes it) out of each environ
(in the same layer); the app still reads them from os.environ.

``python3 pyweb_granian.py`` (PYWEB_GRANIAN_CONFIG set) loads the app and exits: the import check
pyweb-granian-check runs before a config or a release goes live. Only the standard library and
Granian: it runs inside the app's virtualenv.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent


class TargetError(ValueError):
    """An app target that is not ``module``, ``module:name`` or ``module:factory(literal args)``."""


def parse_target(target: str):
    """``"pkg.app:create_app('prod')"`` -> ("pkg.app", ["create_app"], (("prod",), {})).

    The call part is None when the target names a variable. As Gunicorn: no ``:`` means the
    variable ``application``; arguments must be Python literals.
    """
    module, _colon, expression = target.partition(":")
    if not module or not all(part.isidentifier() for part in module.split(".")):
        raise TargetError(f"{target!r}: {module!r} is not a module name")
    expression = expression or "application"
    try:
        node = ast.parse(expression, mode="eval").body
    except SyntaxError as error:
        raise TargetError(f"{target!r}: {expression!r} is not a name or a call") from error
    call = None
    if isinstance(node, ast.Call):
        try:
            args = tuple(ast.literal_eval(arg) for arg in node.args)
            kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords}
        except ValueError as error:
            raise TargetError(f"{target!r}: a factory's arguments must be literals") from error
        if any(name is None for name in kwargs):
            raise TargetError(f"{target!r}: a factory's arguments must be literals")
        call, node = (args, kwargs), node.func
    names = []
    while isinstance(node, ast.Attribute):
        names.insert(0, node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        raise TargetError(f"{target!r}: {expression!r} is not a name or a call")
    names.insert(0, node.id)
    return module, names, call


def import_app(target: str):
    """The app object the target names, imported from sys.path."""
    module_name, names, call = parse_target(target)
    app = importlib.import_module(module_name)
    for name in names:
        try:
            app = getattr(app, name)
        except AttributeError:
            raise TargetError(f"{target!r}: {module_name} has no {'.'.join(names)}") from None
    if call is not None:
        args, kwargs = call
        app = app(*args, **kwargs)
    if not callable(app):
        raise TargetError(f"{target!r} is not callable (got a {type(app).__name__})")
    return app


def _sibling(name):
    """A module the role installs next to this file."""
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The trust and prefix rules Gunicorn's workers use (pyweb_gunicorn.py), so both servers agree.
_hooks = _sibling("pyweb_gunicorn")


def secret_names(environ=None) -> tuple[str, ...]:
    """The names of the app's secrets (PYWEB_SECRET_NAMES, space-separated), and that name itself."""
    names = (environ if environ is not None else os.environ).get("PYWEB_SECRET_NAMES", "").split()
    return (*names, "PYWEB_SECRET_NAMES") if names else ()


class _FromProxy:
    """What a request from the proxy carries, applied in one layer (one call per request; the three
    layers it replaces cost a tenth of a small Flask request on a TCP bind, bench/layers.py).

    From a trusted peer (pyweb_gunicorn.TrustedPeers: any peer on a unix socket, else
    forwarded_allow_ips) the client address comes from X-Forwarded-For, the rightmost entry that
    is not a trusted proxy, and then the scheme from X-Forwarded-Proto (what granian.utils.proxies
    does, deciding each address once); with ``prefix``, X-Forwarded-Prefix is where the app is
    mounted (pyweb_gunicorn's WSGIPrefix and ASGIPrefix).
    """

    def __init__(self, app, allowed, prefix):
        self.app = app
        self.trusted = _hooks.TrustedPeers(allowed)
        self.prefix = bool(prefix)

    def client(self, forwarded: str):
        hosts = [host.strip() for host in forwarded.split(",")]
        if not self.trusted.everyone:
            for host in reversed(hosts):
                if host and not self.trusted(host):
                    return host
        return hosts[0]


class WSGIFromProxy(_FromProxy):
    """The WSGI layer; it also takes the secrets' names (``secrets``) out of each environ."""

    def __init__(self, app, allowed, prefix, secrets=()):
        super().__init__(app, allowed, prefix)
        self.secrets = tuple(secrets)

    def __call__(self, environ, start_response):
        for name in self.secrets:
            environ.pop(name, None)
        if self.trusted(environ.get("REMOTE_ADDR")):
            prefix = self.prefix and _hooks.clean_prefix(environ.get("HTTP_X_FORWARDED_PREFIX"))
            if prefix:
                # The proxy sends it only when it stripped the prefix: PATH_INFO stays as it is.
                environ["SCRIPT_NAME"] = prefix
            forwarded = environ.get("HTTP_X_FORWARDED_FOR")
            client = forwarded and self.client(forwarded)
            if client:
                environ["REMOTE_ADDR"] = client
                if environ.get("HTTP_X_FORWARDED_PROTO") in ("http", "https"):
                    environ["wsgi.url_scheme"] = environ["HTTP_X_FORWARDED_PROTO"]
        return self.app(environ, start_response)


class ASGIFromProxy(_FromProxy):
    """The ASGI layer, for HTTP and WebSocket scopes; lifespan passes untouched."""

    def __call__(self, scope, receive, send):
        # Returns the app's awaitable rather than awaiting it: one coroutine per request, not two.
        if scope["type"] in ("http", "websocket"):
            peer = scope.get("client")
            if self.trusted(peer[0] if peer else None):
                self.rewrite(scope)
        return self.app(scope, receive, send)

    def rewrite(self, scope):
        proto, forwarded, prefix = None, [], ""
        for name, value in scope["headers"]:
            if name == b"x-forwarded-for":
                forwarded.append(value.decode("latin-1").strip())
            elif name == b"x-forwarded-proto" and proto is None:
                proto = value.decode("latin-1").strip()
            elif name == b"x-forwarded-prefix" and self.prefix:
                prefix = _hooks.clean_prefix(value)
        if prefix:
            # The ASGI spec: path is the full path, root_path the part the app is mounted at.
            scope["path"] = prefix + scope.get("path", "")
            if scope.get("raw_path") is not None:
                scope["raw_path"] = prefix.encode("latin-1") + scope["raw_path"]
            scope["root_path"] = prefix
        client = self.client(", ".join(item for item in forwarded if item)) if any(forwarded) else None
        if client:
            scope["client"] = (client, 0)
            if proto in ("http", "https"):
                scope["scheme"] = proto if scope["type"] == "http" else proto.replace("http", "ws")


def read_config(path=None):
    with open(path or os.environ["PYWEB_GRANIAN_CONFIG"], "rb") as file:
        return tomllib.load(file)


def load():
    """Granian's factory: the app of the config's release, wrapped for the proxy."""
    config = read_config()
    release = config["release"]
    os.chdir(release)
    sys.path.insert(0, release)
    os.environ["PYWEB_RELEASE"] = os.path.basename(release)
    app = import_app(config["app_module"])
    if config["interface"] == "asgi":
        app = ASGIFromProxy(app, config["forwarded_allow_ips"], config["proxy_prefix"])
    else:
        app = WSGIFromProxy(app, config["forwarded_allow_ips"], config["proxy_prefix"], secret_names())
    return app


if __name__ == "__main__":
    load()
    print(f"{read_config()['app_module']}: imported")
