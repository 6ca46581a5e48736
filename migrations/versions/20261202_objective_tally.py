"""objective tally and calendar feeds

A response can say, objective by objective, whether the host government agreed,
disagreed or would not say (objective_stances, by the objective's position on the
demarche). Each user may have a calendar feed, opened by a secret address whose
digest is kept (calendar_feeds). New tables only: going down drops them.

Revision ID: 0007c
Revises: 0006b
Create Date: 2026-12-02 18:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0007c"
down_revision: str | None = "0007b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "objective_stances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("objective_position", sa.Integer(), nullable=False),
        sa.Column(
            "stance",
            sa.Enum(
                "agreed",
                "disagreed",
                "would_not_say",
                name="stance",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["responses.id"],
            name=op.f("fk_objective_stances_response_id_responses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objective_stances")),
        sa.UniqueConstraint(
            "response_id",
            "objective_position",
            name=op.f("uq_objective_stances_response_id_objective_position"),
        ),
    )


    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret_digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_calendar_feeds_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("secret_digest", name=op.f("uq_calendar_feeds_secret_digest")),
        sa.UniqueConstraint("user_id", name=op.f("uq_calendar_feeds_user_id")),
    )


def downgrade() -> None:
    op.drop_table("calendar_feeds")
    op.drop_table("objective_stances")
