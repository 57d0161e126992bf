"""Database migrations as release commands, with Alembic on SQLite in the app's data directory: a
release with a new migration is upgraded before it serves (its health path answers only at the
schema its code needs); a release whose migration fails never goes live, the previous one keeps
serving, and the database stays as it was. Leaves the ledger app deployed."""

import shutil

from conftest import ROOT, get
from pyweb_testlib import release_independent

# Ansible's steps, the same on either release.
pytestmark = release_independent

DATABASE = "/srv/ledger/shared/ledger.sqlite3"
ADD_AMOUNT = '''"""An amount on each entry."""

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade():
    op.execute("alter table entries add column amount integer not null default 0")
'''
# Fails on its first statement, inside the migration's transaction.
BROKEN = '''"""A migration that fails."""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade():
    op.execute("alter table no_such_table add column note text")
'''


def release(tmp_path, schema, migrations):
    """The ledger app with extra migration files, its code expecting schema `schema`."""
    src = tmp_path / f"ledger_{schema}"
    shutil.copytree(ROOT / "molecule/apps/files/ledger", src, ignore=shutil.ignore_patterns("__pycache__"))
    for name, code in migrations.items():
        (src / "migrations/versions" / name).write_text(code)
    app = src / "app.py"
    app.write_text(app.read_text().replace('SCHEMA = "0001"', f'SCHEMA = "{schema}"'))
    return src


def ledger(src):
    return {"name": "ledger", "src": str(src), "app_module": "app:app", "profile": "io", "health_path": "/health",
            "release_commands": ["alembic upgrade head"]}


def schema(host):
    """The database's schema, as SQLite states it, and Alembic's version."""
    code = ("import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); "
            "print(db.execute('select version_num from alembic_version').fetchone()[0]); "
            "[print(row[0]) for row in db.execute('select sql from sqlite_master order by name')]")
    return host.check_output("python3 -c %s %s", code, DATABASE).splitlines()


def test_a_new_migration_runs_before_the_release_serves(host, playbook, tmp_path):
    playbook("apps.yml", {"pyweb_apps": [ledger(release(tmp_path, "0001", {}))]})
    assert get(host, "ledger", "/health") == (200, {"schema": "0001", "expects": "0001"})

    out = playbook("apps.yml", {"pyweb_apps": [ledger(release(tmp_path, "0002", {"0002_amount.py": ADD_AMOUNT}))]})
    assert "release command: alembic upgrade head" in out
    assert get(host, "ledger", "/health") == (200, {"schema": "0002", "expects": "0002"})
    assert "amount integer not null default 0" in "\n".join(schema(host))
    # The database belongs to the app's user, who ran the migration.
    assert host.file(DATABASE).user == "ledger"


def test_a_failing_migration_never_goes_live_and_leaves_the_database_as_it_was(host, playbook, tmp_path):
    before = schema(host)
    current = host.file("/srv/ledger/current").linked_to
    broken = release(tmp_path, "0003", {"0002_amount.py": ADD_AMOUNT, "0003_broken.py": BROKEN})
    out = playbook("apps.yml", {"pyweb_apps": [ledger(broken)]}, expect_success=False)
    assert "release command failed" in out and "alembic upgrade head" in out, out[-3000:]
    assert "no such table: no_such_table" in out
    assert host.file("/srv/ledger/current").linked_to == current
    assert get(host, "ledger", "/health") == (200, {"schema": "0002", "expects": "0002"})
    assert schema(host) == before
    print(f"failing migration 0003: deploy failed at its release command, current stayed "
          f"{current.rsplit('/', 1)[-1]}, the app answers schema 0002, the database schema is unchanged "
          f"({len(before)} lines)")
