"""The moderation log refuses DELETE too: a line once written stays (0004 refused UPDATE only).

PostgreSQL: a BEFORE DELETE row trigger calling 0004's refuse_update() (it names the table and
refuses whatever fired it), so `DROP FUNCTION refuse_update() CASCADE` — as a restore does —
still takes every append-only trigger with it. SQLite: a BEFORE DELETE trigger that aborts.
A DELETE cascading from a chat, a person or a message is refused the same way.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 00:10:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLE = "moderation_log"
TRIGGER = f"{TABLE}_no_delete"


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {TRIGGER} BEFORE DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_update()"
        )
    else:
        op.execute(
            f"CREATE TRIGGER {TRIGGER} BEFORE DELETE ON {TABLE} "
            f"BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only'); END"
        )


def downgrade():
    on = f" ON {TABLE}" if op.get_bind().dialect.name == "postgresql" else ""
    op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}{on}")
