"""ledger: a Flask app whose schema Alembic migrates, as apps with a database do.

/health answers 200 only when the database is at the schema this code needs (SCHEMA, the last
migration it ships): a release whose migrations did not run before it went live fails its health gate.
"""

import os
import sqlite3

from flask import Flask, jsonify

# The last migration of migrations/versions/ this code needs; a release with a new migration bumps it.
SCHEMA = "0001"
DATABASE = os.path.join(os.environ["APP_DATA_DIR"], "ledger.sqlite3")

app = Flask(__name__)


@app.get("/health")
def health():
    with sqlite3.connect(DATABASE) as db:
        (schema,) = db.execute("select version_num from alembic_version").fetchone()
    return jsonify(schema=schema, expects=SCHEMA), 200 if schema == SCHEMA else 503
