"""post time zones

Each post keeps its IANA time zone, so its dates (a delivery's day, "delivered on"'s
default, a due date) are its own local days and its times name their zone. Posts
already registered start on UTC, as every date was read until now; an administrator
sets each post's zone. Going down drops the column: nothing else depends on it.

Revision ID: 0006a
Revises: 0005b
Create Date: 2026-12-02 06:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006a"
down_revision: str | None = "0005b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN with a default: SQLite does it in place, with no table rebuild
    # (which would fire the foreign keys pointing at posts), and every row gets UTC.
    op.add_column(
        "posts",
        sa.Column("time_zone", sa.String(length=64), server_default="UTC", nullable=False),
    )


def downgrade() -> None:
    # Not in batch mode: SQLite (3.35+) drops a plain column in place, where a rebuild
    # of posts would fire the foreign keys of the taskings and users that point at it.
    op.drop_column("posts", "time_zone")
