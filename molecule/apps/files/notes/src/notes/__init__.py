"""Notes: a small Flask app built by a factory, storing notes in SQLite."""

import os
import sqlite3
from pathlib import Path

from flask import Flask, g, jsonify, redirect, request, url_for

VERSION = "1"


def create_app():
    secret = os.environ.get("SECRET_KEY")
    if not secret:
        # What many real apps do: no secret, no start.
        raise RuntimeError("SECRET_KEY is not set; refusing to start")
    app = Flask(__name__)
    app.config["SECRET_KEY"] = secret
    app.config["DATABASE"] = str(Path(os.environ["APP_DATA_DIR"]) / "notes.sqlite3")
    with sqlite3.connect(app.config["DATABASE"]) as db:
        db.execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")

    def database():
        if "db" not in g:
            g.db = sqlite3.connect(app.config["DATABASE"])
        return g.db

    @app.teardown_appcontext
    def close(_error):
        db = g.pop("db", None)
        if db is not None:
            db.close()

    @app.get("/health")
    def health():
        return jsonify(status="ok")

    @app.get("/notes")
    def list_notes():
        rows = database().execute("SELECT text FROM notes ORDER BY id").fetchall()
        return jsonify(notes=[row[0] for row in rows], version=VERSION, release=os.environ.get("PYWEB_RELEASE"))

    @app.post("/notes")
    def add_note():
        db = database()
        db.execute("INSERT INTO notes (text) VALUES (?)", (request.get_json()["text"],))
        db.commit()
        return jsonify(saved=True), 201

    @app.get("/env")
    def env():
        # A test app: it shows the test's own variables, so the test can compare them byte for byte.
        return jsonify({name: value for name, value in os.environ.items() if name.startswith("NOTES_")})

    @app.get("/client")
    def client():
        # Who the server says is asking (after the proxy's X-Forwarded-For), and whether the secret
        # reached the request's WSGI environ as well as the process's environment.
        return jsonify(remote_addr=request.remote_addr, forwarded_for=request.headers.get("X-Forwarded-For"),
                       secret_in_environ="SECRET_KEY" in request.environ,
                       secret_in_os_environ="SECRET_KEY" in os.environ)

    @app.get("/where")
    def where():
        # URLs the app builds itself: they must carry the route prefix Nginx stripped.
        return jsonify(script_name=request.script_root, notes_url=url_for("list_notes"),
                       external=url_for("list_notes", _external=True))

    @app.get("/go")
    def go():
        return redirect(url_for("list_notes"))

    return app
