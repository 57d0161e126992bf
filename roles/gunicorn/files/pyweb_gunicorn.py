"""Worker hooks that every gunicorn.conf.py of the gunicorn role loads (installed next to them).

Nginx strips a route's prefix (``/sync-api/hello`` reaches the app as ``/hello``) and says what it
stripped in ``X-Forwarded-Prefix``. Without help the app believes it is served at the root: Flask's
``url_for`` and redirects drop ``/sync-api``, and FastAPI's ``/docs`` page asks for
``/openapi.json`` outside the prefix. ``post_worker_init`` wraps the app each worker loaded so
that, for requests from a trusted proxy, a WSGI app sees the prefix as ``SCRIPT_NAME`` and an ASGI
app as ``root_path`` (with ``path`` starting with it, as the ASGI spec says). The app's code does
not change. Only the standard library: it runs inside the app's virtualenv.
"""

from __future__ import annotations

import functools
import ipaddress
import re

# A prefix is a path of plain segments; anything else (a full URL, "..", spaces) is ignored.
_PREFIX = re.compile(r"^(/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+/?$")


class TrustedPeers:
    """Which peers may speak for the client: set the prefix, or (under Granian) the client address.

    A unix socket has no peer address (only processes that the socket's owner and mode allow, Nginx,
    can connect); a TCP peer must be in ``allowed`` (Gunicorn's forwarded_allow_ips: addresses,
    networks or ``*``). The entries are parsed once and each address is decided once: parsing them
    on every request cost about 5 microseconds per layer, a tenth of a small Flask request.
    """

    def __init__(self, allowed):
        items = [str(item).strip() for item in allowed]
        self.everyone = "*" in items
        self.networks = []
        for item in items:
            try:
                self.networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                continue
        # Bounded: behind Nginx the peers are a handful of addresses; the client addresses a
        # forwarded list names (pyweb_granian.py asks about those too) are many.
        self._decide = functools.lru_cache(maxsize=4096)(self._decide_uncached)

    def __call__(self, address) -> bool:
        if not address or self.everyone:
            return True
        return self._decide(address)

    def _decide_uncached(self, address) -> bool:
        try:
            peer = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(peer in network for network in self.networks)


@functools.lru_cache(maxsize=256)
def clean_prefix(value) -> str:
    """The prefix without its trailing slash, or "" when the header is absent or malformed.

    Cached: the proxy sends the same few prefixes on every request."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    value = (value or "").strip()
    if not value or value == "/" or not _PREFIX.match(value) or "/../" in value + "/" or "/./" in value + "/":
        return ""
    return value.rstrip("/")


class WSGIPrefix:
    """Hands X-Forwarded-Prefix to a WSGI app as SCRIPT_NAME."""

    def __init__(self, app, allowed):
        self.app = app
        self.trusted = TrustedPeers(allowed)

    def __call__(self, environ, start_response):
        prefix = clean_prefix(environ.get("HTTP_X_FORWARDED_PREFIX"))
        # The proxy sends the header only when it stripped the prefix, so PATH_INFO stays as it is:
        # an app may well have a route named like its prefix (/notes/notes).
        if prefix and self.trusted(environ.get("REMOTE_ADDR")):
            environ["SCRIPT_NAME"] = prefix
        return self.app(environ, start_response)


class ASGIPrefix:
    """Hands X-Forwarded-Prefix to an ASGI app as root_path (HTTP and WebSocket scopes)."""

    def __init__(self, app, allowed):
        self.app = app
        self.trusted = TrustedPeers(allowed)

    # A coroutine function, so that uvicorn recognises an ASGI 3 app.
    async def __call__(self, scope, receive, send):
        if scope.get("type") in ("http", "websocket"):
            prefix = ""
            for name, value in scope.get("headers") or ():
                if name == b"x-forwarded-prefix":
                    prefix = clean_prefix(value)
            client = scope.get("client")
            if prefix and self.trusted(client[0] if client else None):
                # The ASGI spec: path is the full path, root_path the part the app is mounted at.
                scope = dict(scope)
                scope["path"] = prefix + scope.get("path", "")
                if scope.get("raw_path") is not None:
                    scope["raw_path"] = prefix.encode("latin-1") + scope["raw_path"]
                scope["root_path"] = prefix
        await self.app(scope, receive, send)


def _allowed(cfg):
    value = cfg.forwarded_allow_ips
    return value.split(",") if isinstance(value, str) else list(value or [])


def wrap_for_prefix(worker):
    """post_worker_init: wrap the app this worker loaded (``worker.wsgi``) for its kind."""
    asgi = "uvicorn" in type(worker).__module__ or "asgi" in type(worker).__name__.lower()
    wrapper = ASGIPrefix if asgi else WSGIPrefix
    worker.wsgi = wrapper(worker.wsgi, _allowed(worker.cfg))


def hand_sockets_to_the_loop(worker):
    """post_worker_init for Uvicorn workers: give the event loop the listening sockets themselves.

    Gunicorn hands its workers wrappers around the sockets. uvloop, which Uvicorn runs on when it is
    installed (uvicorn[standard]), closes the descriptor of a server's socket when the server stops
    and marks a real socket closed, but cannot mark a wrapper: gunicorn's own close of the wrapper
    then failed on every reload and stop ("Error while closing socket [Errno 9] Bad file
    descriptor"), and could have closed another file that took the number meanwhile. With the
    sockets themselves, uvloop and asyncio both leave nothing to close twice.
    """
    worker.sockets = [getattr(sock, "sock", sock) for sock in worker.sockets]
