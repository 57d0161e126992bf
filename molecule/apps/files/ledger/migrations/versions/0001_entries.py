"""The entries table."""

from alembic import op

revision = "0001"
down_revision = None


def upgrade():
    op.execute("create table entries (id integer primary key, text text not null)")
