"""sync-api: the Flask (WSGI) example app served by Gunicorn gthread workers.

Configuration follows Flask's config-class pattern: APP_ENV=development|production picks the class,
other settings come from the environment the service unit provides (never from files in the code).
"""

import os
import socket
import time

from flask import Flask, jsonify, request

APP_NAME = os.environ.get("APP_NAME", "sync-api")
# Which host answered: behind a load balancer, responses show the rotation.
HOSTNAME = socket.gethostname()
# Bumped by a code change; the tests deploy an edited copy and expect the new value.
VERSION = "1"
MESSAGE = "Hello from Flask"
# /io?ms=N sleeps N ms instead of 50 (the resilience tests' slow backend), never longer than this.
MAX_IO_MS = 10_000


class Config:
    DEBUG = False
    TESTING = False
    SECRET_KEY = os.environ.get("SECRET_KEY", "")


class ProductionConfig(Config):
    pass


class DevelopmentConfig(Config):
    DEBUG = True


CONFIGS = {"production": ProductionConfig, "development": DevelopmentConfig}


def fib(n):
    """Pure-Python arithmetic, deliberately naive: tens of milliseconds of CPU for n=24."""
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def create_app():
    app = Flask(__name__, static_folder="static")
    env = os.environ.get("APP_ENV", "production")
    app.config.from_object(CONFIGS.get(env, ProductionConfig))

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok", app=APP_NAME)

    @app.get("/hello")
    def hello():
        return jsonify(
            app=APP_NAME,
            framework="flask",
            message=os.environ.get("HELLO_MESSAGE", MESSAGE),
            version=VERSION,
            host=HOSTNAME,
            env=env,
            secret_configured=bool(app.config["SECRET_KEY"]),
        )

    @app.get("/cpu")
    def cpu():
        started = time.perf_counter()
        value = fib(24)
        return jsonify(app=APP_NAME, fib24=value, ms=round((time.perf_counter() - started) * 1000, 1))

    @app.get("/io")
    def io():
        ms = min(max(request.args.get("ms", default=50, type=int), 0), MAX_IO_MS)
        time.sleep(ms / 1000)
        return jsonify(app=APP_NAME, slept_ms=ms)

    return app


app = create_app()
