"""objective tally

A response can say, objective by objective, whether the host government agreed,
disagreed or would not say (objective_stances, by the objective's position on the
demarche). New rows only: going down drops them with their table.

Revision ID: 0007c
Revises: 0006b
Create Date: 2026-12-02 18:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0007c"
down_revision: str | None = "0006b"
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


def downgrade() -> None:
    op.drop_table("objective_stances")
