"""Chat invites, versioned chat rules and their acceptance, requests to join, removals.

Every kindergarten gets version 1 of the default rules; its chats (not direct ones) follow
them, and their moderators count as having accepted them. Everyone else accepts before posting.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 19:31:26.286006

"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from sferum_lite.texts import DEFAULT_RULES

# revision identifiers, used by Alembic.
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "chat_invite",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kindergarten_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("needs_approval", sa.Boolean(), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chat.id"], name=op.f("fk_chat_invite_chat_id_chat"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_chat_invite_created_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["kindergarten_id"],
            ["kindergarten.id"],
            name=op.f("fk_chat_invite_kindergarten_id_kindergarten"),
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"], ["user.id"], name=op.f("fk_chat_invite_revoked_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_invite")),
        sa.UniqueConstraint("token", name=op.f("uq_chat_invite_token")),
    )
    with op.batch_alter_table("chat_invite", schema=None) as batch_op:
        batch_op.create_index("ix_chat_invite_chat", ["chat_id", "created_at"], unique=False)
        batch_op.create_index(
            "ix_chat_invite_kg_expires", ["kindergarten_id", "expires_at"], unique=False
        )

    op.create_table(
        "chat_removal",
        sa.Column("chat_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("removed_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chat.id"], name=op.f("fk_chat_removal_chat_id_chat"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["removed_by_id"], ["user.id"], name=op.f("fk_chat_removal_removed_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_chat_removal_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("chat_id", "user_id", name=op.f("pk_chat_removal")),
    )
    with op.batch_alter_table("chat_removal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chat_removal_user_id"), ["user_id"], unique=False)

    op.create_table(
        "rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kindergarten_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chat.id"], name=op.f("fk_rules_chat_id_chat"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_rules_created_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["kindergarten_id"],
            ["kindergarten.id"],
            name=op.f("fk_rules_kindergarten_id_kindergarten"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rules")),
    )
    with op.batch_alter_table("rules", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rules_kg_chat", ["kindergarten_id", "chat_id", "version"], unique=False
        )

    op.create_table(
        "join_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("invite_id", sa.Integer(), nullable=True),
        sa.Column("child_last_name", sa.String(length=60), nullable=False),
        sa.Column("child_first_name", sa.String(length=60), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=True),
        sa.Column("rules_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('waiting', 'admitted', 'declined')", name=op.f("ck_join_request_status")
        ),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chat.id"], name=op.f("fk_join_request_chat_id_chat"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["child_id"],
            ["child.id"],
            name=op.f("fk_join_request_child_id_child"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["user.id"], name=op.f("fk_join_request_decided_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["invite_id"],
            ["chat_invite.id"],
            name=op.f("fk_join_request_invite_id_chat_invite"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_join_request_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_join_request")),
    )
    with op.batch_alter_table("join_request", schema=None) as batch_op:
        batch_op.create_index("ix_join_request_chat", ["chat_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_join_request_user_id"), ["user_id"], unique=False)

    op.create_table(
        "rules_acceptance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("rules_id", sa.Integer(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"],
            ["chat.id"],
            name=op.f("fk_rules_acceptance_chat_id_chat"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rules_id"],
            ["rules.id"],
            name=op.f("fk_rules_acceptance_rules_id_rules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_rules_acceptance_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rules_acceptance")),
    )
    with op.batch_alter_table("rules_acceptance", schema=None) as batch_op:
        batch_op.create_index("ix_rules_acceptance_chat", ["chat_id", "rules_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_rules_acceptance_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("chat", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rules_id", sa.Integer(), nullable=True))

    with op.batch_alter_table("chat_member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rules_accepted_id", sa.Integer(), nullable=True))

    _give_rules()


def _give_rules():
    conn = op.get_bind()
    now = datetime.now(UTC).replace(tzinfo=None)
    rules = sa.table(
        "rules",
        sa.column("id", sa.Integer),
        sa.column("kindergarten_id", sa.Integer),
        sa.column("chat_id", sa.Integer),
        sa.column("version", sa.Integer),
        sa.column("text", sa.Text),
        sa.column("note", sa.String),
        sa.column("created_at", sa.DateTime),
    )
    chat = sa.table(
        "chat",
        sa.column("id", sa.Integer),
        sa.column("kindergarten_id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("rules_id", sa.Integer),
    )
    member = sa.table(
        "chat_member",
        sa.column("chat_id", sa.Integer),
        sa.column("is_moderator", sa.Boolean),
        sa.column("rules_accepted_id", sa.Integer),
    )
    for (kindergarten_id,) in conn.execute(sa.text("SELECT id FROM kindergarten")).all():
        rules_id = conn.execute(
            rules.insert()
            .values(
                kindergarten_id=kindergarten_id,
                chat_id=None,
                version=1,
                text=DEFAULT_RULES,
                note="",
                created_at=now,
            )
            .returning(rules.c.id)
        ).scalar_one()
        conn.execute(
            chat.update()
            .where(chat.c.kindergarten_id == kindergarten_id, chat.c.kind != "direct")
            .values(rules_id=rules_id)
        )
    conn.execute(
        member.update()
        .where(member.c.is_moderator.is_(True))
        .values(
            rules_accepted_id=sa.select(chat.c.rules_id)
            .where(chat.c.id == member.c.chat_id)
            .scalar_subquery()
        )
    )


def downgrade():
    with op.batch_alter_table("chat_member", schema=None) as batch_op:
        batch_op.drop_column("rules_accepted_id")

    with op.batch_alter_table("chat", schema=None) as batch_op:
        batch_op.drop_column("rules_id")

    with op.batch_alter_table("rules_acceptance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rules_acceptance_user_id"))
        batch_op.drop_index("ix_rules_acceptance_chat")

    op.drop_table("rules_acceptance")
    with op.batch_alter_table("join_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_join_request_user_id"))
        batch_op.drop_index("ix_join_request_chat")

    op.drop_table("join_request")
    with op.batch_alter_table("rules", schema=None) as batch_op:
        batch_op.drop_index("ix_rules_kg_chat")

    op.drop_table("rules")
    with op.batch_alter_table("chat_removal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_removal_user_id"))

    op.drop_table("chat_removal")
    with op.batch_alter_table("chat_invite", schema=None) as batch_op:
        batch_op.drop_index("ix_chat_invite_kg_expires")
        batch_op.drop_index("ix_chat_invite_chat")

    op.drop_table("chat_invite")
    # ### end Alembic commands ###
