"""sign-in throttles

Failed sign-ins were counted by reading login_attempts and then checking the password:
parallel attempts all read the same count and were all checked. One row per throttled
key (an address and user pair, an address, a user) lets one statement count an attempt
and return the total (app/auth/throttle.py). login_attempts stays, as the record.

Upgrading carries over the failures of the last 15 minutes (the longest window), so a
guesser mid-attack gets no fresh allowance from the deploy; downgrading drops the
counters, which login_attempts still holds the record of.

Revision ID: 0005a
Revises: 0004
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op


revision: str = "0005a"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The windows of app/auth/throttle.py as this revision knew them: (scope, key, window).
_CARRIED = (
    ("pair", "address || ' ' || username", "address, username", timedelta(minutes=15)),
    ("address", "address", "address", timedelta(minutes=15)),
    ("user", "username", "username", timedelta(minutes=5)),
)


def upgrade() -> None:
    op.create_table(
        "login_throttles",
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_login_throttles")),
    )
    now = datetime.now(UTC)
    for scope, key, group, window in _CARRIED:
        op.get_bind().execute(
            sa.text(
                "INSERT INTO login_throttles (scope, key, failures, window_started_at) "
                f"SELECT :scope, {key}, count(*), min(at) FROM login_attempts "
                f"WHERE at >= :since GROUP BY {group}"
            ).bindparams(
                sa.bindparam("scope", scope),
                sa.bindparam("since", now - window, type_=sa.DateTime(timezone=True)),
            )
        )


def downgrade() -> None:
    op.drop_table("login_throttles")
