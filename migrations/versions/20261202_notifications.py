"""notifications and their email outbox

A notification row per event and recipient (the in-app bell), written in the change's
own transaction; a reminder carries a unique dedupe key (one per tasking, kind, day and
recipient). notification_emails is the outbox the worker delivers from. Users gain an
email address (none: in-app only). Going down drops them all: no other table refers to
them.

Revision ID: 0007b
Revises: 0006b
Create Date: 2026-12-02 17:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007b"
down_revision: str | None = "0007a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = (
    "new_tasking",
    "amended",
    "insisted",
    "waived",
    "cancelled",
    "extended",
    "reply_matched",
    "response_reported",
    "due_soon",
    "overdue",
    "unacknowledged",
    "reminded",
)
STATES = ("queued", "sent", "dead")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=17), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("demarche_id", sa.Integer(), nullable=False),
        sa.Column("tasking_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dedupe_key", sa.String(length=120), nullable=True),
        sa.CheckConstraint(_in("kind", KINDS), name=op.f("ck_notifications_notification_kind")),
        sa.ForeignKeyConstraint(
            ["demarche_id"],
            ["demarches.id"],
            name=op.f("fk_notifications_demarche_id_demarches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tasking_id"],
            ["taskings.id"],
            name=op.f("fk_notifications_tasking_id_taskings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_notifications_dedupe_key")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notifications_demarche_id"), ["demarche_id"], unique=False
        )
        batch_op.create_index(
            "ix_notifications_user_read_id", ["user_id", "read_at", "id"], unique=False
        )
    op.create_table(
        "notification_emails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("state", sa.String(length=6), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(_in("state", STATES), name=op.f("ck_notification_emails_email_state")),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_notification_emails_notification_id_notifications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_emails")),
        sa.UniqueConstraint("notification_id", name=op.f("uq_notification_emails_notification_id")),
    )
    with op.batch_alter_table("notification_emails", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notification_emails_state_next", ["state", "next_attempt_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("notification_emails")
    op.drop_table("notifications")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("email")
