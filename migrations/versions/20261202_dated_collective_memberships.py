"""dated collective memberships

A collective's members change over time (the Security Council's elected members every
January), and a cable addressed to one means its members on the cable's date: each
membership becomes a row with valid_from and valid_to (both days included, either
open). The existing members carry over as open-ended memberships. A collective may
instead stand for every active post (all_posts: "all diplomatic and consular posts").
Collectives, posts and users get a version, so an administrator's form read at an
older one is refused rather than overwriting someone else's change.

Going down, the memberships open today (or open-ended) become the plain member list
again; ended ones have no place there and are dropped.

Revision ID: 0006b
Revises: 0006a
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0006b"
down_revision: str | None = "0006a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "collective_memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collective_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "valid_from IS NULL OR valid_to IS NULL OR valid_to >= valid_from",
            name=op.f("ck_collective_memberships_ends_after_it_starts"),
        ),
        sa.ForeignKeyConstraint(
            ["collective_id"],
            ["collectives.id"],
            name=op.f("fk_collective_memberships_collective_id_collectives"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_collective_memberships_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collective_memberships")),
    )
    with op.batch_alter_table("collective_memberships", schema=None) as batch_op:
        batch_op.create_index(
            "ix_collective_memberships_collective_post", ["collective_id", "post_id"]
        )
        batch_op.create_index(batch_op.f("ix_collective_memberships_post_id"), ["post_id"])
    op.execute(
        "INSERT INTO collective_memberships (collective_id, post_id) "
        "SELECT collective_id, post_id FROM collective_members "
        "ORDER BY collective_id, post_id"
    )
    op.drop_table("collective_members")

    # Plain ADD COLUMN on both databases (no SQLite table copy: users and posts are
    # pointed at by most tables).
    with op.batch_alter_table("collectives", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("all_posts", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )
        batch_op.add_column(
            sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False)
        )
    for table in ("posts", "users"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False)
            )


def downgrade() -> None:
    for table in ("users", "posts"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("version")
    with op.batch_alter_table("collectives", schema=None) as batch_op:
        batch_op.drop_column("version")
        batch_op.drop_column("all_posts")

    op.create_table(
        "collective_members",
        sa.Column("collective_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["collective_id"],
            ["collectives.id"],
            name=op.f("fk_collective_members_collective_id_collectives"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_collective_members_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("collective_id", "post_id", name=op.f("pk_collective_members")),
    )
    op.execute(
        "INSERT INTO collective_members (collective_id, post_id) "
        "SELECT DISTINCT collective_id, post_id FROM collective_memberships "
        "WHERE (valid_from IS NULL OR valid_from <= CURRENT_DATE) "
        "AND (valid_to IS NULL OR valid_to >= CURRENT_DATE)"
    )
    with op.batch_alter_table("collective_memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_collective_memberships_post_id"))
        batch_op.drop_index("ix_collective_memberships_collective_post")
    op.drop_table("collective_memberships")
