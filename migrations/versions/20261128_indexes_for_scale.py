"""indexes for scale

The overdue board, the inbox and the home page all ask for the FLASH and NIACT
IMMEDIATE demarches (the "urgent and unacknowledged" half of overdue); without an
index that is a scan of every demarche on each request (about 8 ms at 20,000).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 18:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op


revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("demarches", schema=None) as batch_op:
        batch_op.create_index("ix_demarches_precedence", ["precedence"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("demarches", schema=None) as batch_op:
        batch_op.drop_index("ix_demarches_precedence")
