"""async-api: the FastAPI (ASGI) example app served by Gunicorn with uvicorn_worker.UvicornWorker.

APP_ENV=development|production switches debug behaviour, as the Flask app's config classes do.
"""

import asyncio
import logging
import os
import socket
import time

from fastapi import FastAPI, Query

APP_NAME = os.environ.get("APP_NAME", "async-api")
# Which host answered: behind a load balancer, responses show the rotation.
HOSTNAME = socket.gethostname()
APP_ENV = os.environ.get("APP_ENV", "production")
# Bumped by a code change; the tests deploy an edited copy and expect the new value.
VERSION = "1"
MESSAGE = "Hello from FastAPI"
# /io?ms=N sleeps N ms instead of 50 (the resilience tests' slow backend), never longer than this.
MAX_IO_MS = 10_000

app = FastAPI(title=APP_NAME, debug=APP_ENV == "development")
# UvicornWorker writes uvicorn's access line, which has no duration; this one adds it. The logger
# goes to Gunicorn's access log (stdout, the journal).
access_log = logging.getLogger("uvicorn.access")


class LogDuration:
    """Log each request's duration in µs on the access log, when Gunicorn has one.

    A plain ASGI middleware: FastAPI's @app.middleware("http") (Starlette's BaseHTTPMiddleware)
    runs every request through an extra task and memory streams, which halved this app's hello
    throughput. Without an access log (Gunicorn's default here) it costs one check per request.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        # UvicornWorker hands the logger Gunicorn's access handlers: none when accesslog is off.
        if scope["type"] != "http" or not access_log.handlers:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note_status(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            micros = int((time.perf_counter() - started) * 1_000_000)
            access_log.info('"%s %s" %s %dus', scope["method"], scope["path"], status, micros)


app.add_middleware(LogDuration)


def fib(n: int) -> int:
    """Pure-Python arithmetic, deliberately naive: tens of milliseconds of CPU for n=24."""
    return n if n < 2 else fib(n - 1) + fib(n - 2)


@app.get("/healthz")
async def healthz():
    return {"status": "ok", "app": APP_NAME}


@app.get("/hello")
async def hello():
    return {
        "app": APP_NAME,
        "framework": "fastapi",
        "message": os.environ.get("HELLO_MESSAGE", MESSAGE),
        "version": VERSION,
        "host": HOSTNAME,
        "env": APP_ENV,
        "secret_configured": bool(os.environ.get("SECRET_KEY")),
    }


@app.get("/cpu")
def cpu():
    # A plain `def` runs in the threadpool, so the event loop keeps serving while this computes.
    started = time.perf_counter()
    value = fib(24)
    return {"app": APP_NAME, "fib24": value, "ms": round((time.perf_counter() - started) * 1000, 1)}


@app.get("/io")
async def io(ms: int = Query(default=50, ge=0, le=MAX_IO_MS)):
    await asyncio.sleep(ms / 1000)
    return {"app": APP_NAME, "slept_ms": ms}
