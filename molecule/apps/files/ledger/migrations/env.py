"""Alembic's entry point: the SQLite database in the app's data directory, one transaction per
migration, so a migration that fails leaves the database as the one before it left it."""

import os

from alembic import context
from sqlalchemy import create_engine

URL = "sqlite:///" + os.path.join(os.environ["APP_DATA_DIR"], "ledger.sqlite3")

with create_engine(URL).connect() as connection:
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
