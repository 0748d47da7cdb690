"""The moderation log refuses DELETE too, and a single-choice poll holds one vote per person.

The log: a line once written stays (0004 refused UPDATE only).

PostgreSQL: a BEFORE DELETE row trigger calling 0004's refuse_update() (it names the table and
refuses whatever fired it), so `DROP FUNCTION refuse_update() CASCADE` — as a restore does —
still takes every append-only trigger with it. SQLite: a BEFORE DELETE trigger that aborts.
A DELETE cascading from a chat, a person or a message is refused the same way.

One vote: `poll_vote.single` copies the poll's «one answer» setting onto each vote, and a unique
index over (poll, person) where `single` holds makes a second vote of one person in such a poll
impossible, whatever two requests race. Votes the race left doubled before this revision are
cut to the person's latest one (the one the page showed last), so the index can be made.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 00:10:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLE = "moderation_log"
TRIGGER = f"{TABLE}_no_delete"


def upgrade():
    _append_only()
    _one_vote()


def _append_only():
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


def _one_vote():
    with op.batch_alter_table("poll_vote", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("single", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    single = "(SELECT NOT poll.multiple FROM poll WHERE poll.id = poll_vote.poll_id)"
    op.execute(f"UPDATE poll_vote SET single = {single}")
    # a doubled vote from before: the person's latest row stays (the earliest of equal times)
    op.execute(
        "DELETE FROM poll_vote WHERE single AND EXISTS (SELECT 1 FROM poll_vote later "
        "WHERE later.poll_id = poll_vote.poll_id AND later.user_id = poll_vote.user_id "
        "AND (later.created_at > poll_vote.created_at OR (later.created_at = "
        "poll_vote.created_at AND later.option_id < poll_vote.option_id)))"
    )
    with op.batch_alter_table("poll_vote", schema=None) as batch_op:
        batch_op.create_index(
            "uq_poll_vote_single",
            ["poll_id", "user_id"],
            unique=True,
            sqlite_where=sa.text("single"),
            postgresql_where=sa.text("single"),
        )


def downgrade():
    with op.batch_alter_table("poll_vote", schema=None) as batch_op:
        batch_op.drop_index("uq_poll_vote_single")
        batch_op.drop_column("single")
    on = f" ON {TABLE}" if op.get_bind().dialect.name == "postgresql" else ""
    op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}{on}")
