"""Staff nobody has verified yet wait outside the staff chats (issue 13 §1).

Until this revision a staff invite put the newcomer into «Педагоги», «Сотрудники» and the
kindergarten's news at once; now the staff chats come with the verification (reg 000 §2.2,
reg 002 §2.6). This revision takes present staff whom nobody has verified (never the director)
out of the two staff chats, and out of the news unless a child of theirs attends (a parent
reads the news). Their messages stay; they come back into the chats when verified.

The downgrade puts nobody back: whom to let into the staff chats is the administration's call.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 02:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

user = sa.table(
    "user",
    sa.column("id", sa.Integer),
    sa.column("is_director", sa.Boolean),
    sa.column("position", sa.String),
    sa.column("verified_at", sa.DateTime),
    sa.column("dismissed_at", sa.DateTime),
)
chat = sa.table("chat", sa.column("id", sa.Integer), sa.column("system", sa.String))
chat_member = sa.table(
    "chat_member", sa.column("chat_id", sa.Integer), sa.column("user_id", sa.Integer)
)
parent_child = sa.table(
    "parent_child", sa.column("user_id", sa.Integer), sa.column("child_id", sa.Integer)
)
child = sa.table("child", sa.column("id", sa.Integer), sa.column("left_at", sa.DateTime))


def leave_staff_chats(conn) -> int:
    """Take unverified present staff out of the staff chats (and the news, unless a parent);
    returns how many memberships went. The same statements on SQLite and PostgreSQL."""
    unverified = sa.select(user.c.id).where(
        user.c.is_director == sa.false(),
        user.c.position.is_not(None),
        user.c.dismissed_at.is_(None),
        user.c.verified_at.is_(None),
    )
    staff_chats = sa.select(chat.c.id).where(chat.c.system.in_(("staff_group", "staff")))
    news = sa.select(chat.c.id).where(chat.c.system == "news")
    a_parent = sa.exists(
        sa.select(parent_child.c.user_id)
        .join(child, child.c.id == parent_child.c.child_id)
        .where(parent_child.c.user_id == chat_member.c.user_id, child.c.left_at.is_(None))
    )
    gone = conn.execute(
        sa.delete(chat_member).where(
            chat_member.c.user_id.in_(unverified), chat_member.c.chat_id.in_(staff_chats)
        )
    ).rowcount
    gone += conn.execute(
        sa.delete(chat_member).where(
            chat_member.c.user_id.in_(unverified), chat_member.c.chat_id.in_(news), ~a_parent
        )
    ).rowcount
    return gone


def upgrade():
    leave_staff_chats(op.get_bind())


def downgrade():
    pass
