"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28 18:03:58.659391
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cables",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref_id", sa.String(length=40), nullable=False),
        sa.Column("dtg", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "precedence",
            sa.Enum(
                "FLASH",
                "NIACT IMMEDIATE",
                "IMMEDIATE",
                "PRIORITY",
                "ROUTINE",
                name="precedence",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("originator", sa.String(length=120), nullable=True),
        sa.Column("classification", sa.String(length=80), nullable=True),
        sa.Column("captions", sa.JSON(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "instruction",
                "report",
                "other",
                name="cable_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("raw_text", sa.Text(), nullable=False),
        sa.Column("parsed", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cables")),
        sa.UniqueConstraint("ref_id", name=op.f("uq_cables_ref_id")),
    )
    op.create_table(
        "collectives",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("routing_indicator", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collectives")),
        sa.UniqueConstraint("code", name=op.f("uq_collectives_code")),
        sa.UniqueConstraint("name", name=op.f("uq_collectives_name")),
        sa.UniqueConstraint("routing_indicator", name=op.f("uq_collectives_routing_indicator")),
    )
    op.create_table(
        "posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "embassy",
                "mission",
                "consulate",
                "office",
                name="post_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("city", sa.String(length=80), nullable=False),
        sa.Column("country", sa.String(length=80), nullable=False),
        sa.Column("routing_indicator", sa.String(length=16), nullable=True),
        sa.Column(
            "region",
            sa.Enum(
                "AF",
                "EAP",
                "EUR",
                "NEA",
                "SCA",
                "WHA",
                "IO",
                name="region",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), server_default=sa.text("(true)"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
        sa.UniqueConstraint("code", name=op.f("uq_posts_code")),
        sa.UniqueConstraint("routing_indicator", name=op.f("uq_posts_routing_indicator")),
    )
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_posts_region"), ["region"], unique=False)

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
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("full_name", sa.String(length=120), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "desk_officer",
                "post_officer",
                "viewer",
                "administrator",
                name="role",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "clearance",
            sa.Enum(
                "UNCLASSIFIED",
                "SBU",
                "CONFIDENTIAL",
                "SECRET",
                name="classification",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("post_id", sa.Integer(), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("(true)"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(role = 'post_officer') = (post_id IS NOT NULL)",
            name=op.f("ck_users_post_officer_has_post"),
        ),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], name=op.f("fk_users_post_id_posts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_post_id"), ["post_id"], unique=False)

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "demarches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column(
            "classification",
            sa.Enum(
                "UNCLASSIFIED",
                "SBU",
                "CONFIDENTIAL",
                "SECRET",
                name="classification",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "issued",
                "closed",
                "cancelled",
                name="demarche_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("delivery_level", sa.String(length=200), nullable=True),
        sa.Column("source_cable_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_demarches_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["source_cable_id"],
            ["cables.id"],
            name=op.f("fk_demarches_source_cable_id_cables"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demarches")),
    )
    with op.batch_alter_table("demarches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_demarches_author_id"), ["author_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_demarches_source_cable_id"), ["source_cable_id"], unique=False
        )
        batch_op.create_index("ix_demarches_status_deadline", ["status", "deadline"], unique=False)

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("demarche_id", sa.Integer(), nullable=True),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_audit_events_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["demarche_id"], ["demarches.id"], name=op.f("fk_audit_events_demarche_id_demarches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_demarche_at", ["demarche_id", "id"], unique=False)

    op.create_table(
        "demarche_tags",
        sa.Column("demarche_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["demarche_id"],
            ["demarches.id"],
            name=op.f("fk_demarche_tags_demarche_id_demarches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("demarche_id", "tag", name=op.f("pk_demarche_tags")),
    )
    with op.batch_alter_table("demarche_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_demarche_tags_tag"), ["tag"], unique=False)

    op.create_table(
        "demarche_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("demarche_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=80), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "action", "info", name="tasking_role", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["demarche_id"],
            ["demarches.id"],
            name=op.f("fk_demarche_targets_demarche_id_demarches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_demarche_targets_post_id_posts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demarche_targets")),
        sa.UniqueConstraint(
            "demarche_id",
            "post_id",
            "country",
            name=op.f("uq_demarche_targets_demarche_id_post_id_country"),
        ),
    )
    with op.batch_alter_table("demarche_targets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_demarche_targets_post_id"), ["post_id"], unique=False)

    op.create_table(
        "key_dates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("demarche_id", sa.Integer(), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("what", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["demarche_id"],
            ["demarches.id"],
            name=op.f("fk_key_dates_demarche_id_demarches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_dates")),
    )
    with op.batch_alter_table("key_dates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_key_dates_demarche_id"), ["demarche_id"], unique=False)

    op.create_table(
        "objectives",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("demarche_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["demarche_id"],
            ["demarches.id"],
            name=op.f("fk_objectives_demarche_id_demarches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objectives")),
        sa.UniqueConstraint(
            "demarche_id", "position", name=op.f("uq_objectives_demarche_id_position")
        ),
    )
    op.create_table(
        "talking_points",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("demarche_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "classification",
            sa.Enum(
                "UNCLASSIFIED",
                "SBU",
                "CONFIDENTIAL",
                "SECRET",
                name="classification",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "use",
            sa.Enum(
                "private", "public", name="point_use", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["demarche_id"],
            ["demarches.id"],
            name=op.f("fk_talking_points_demarche_id_demarches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_talking_points")),
        sa.UniqueConstraint(
            "demarche_id", "position", name=op.f("uq_talking_points_demarche_id_position")
        ),
    )
    op.create_table(
        "taskings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("demarche_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=80), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "action", "info", name="tasking_role", native_enum=False, create_constraint=True
            ),
            nullable=False,
        ),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "acknowledged",
                "delivered",
                "reported",
                "closed",
                "unable",
                "advised_against",
                "waived",
                "cancelled",
                name="tasking_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["demarche_id"],
            ["demarches.id"],
            name=op.f("fk_taskings_demarche_id_demarches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], name=op.f("fk_taskings_post_id_posts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_taskings")),
        sa.UniqueConstraint(
            "demarche_id",
            "post_id",
            "country",
            name=op.f("uq_taskings_demarche_id_post_id_country"),
        ),
    )
    with op.batch_alter_table("taskings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_taskings_post_status_due", ["post_id", "status", "due_date"], unique=False
        )
        batch_op.create_index("ix_taskings_status_due", ["status", "due_date"], unique=False)

    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tasking_id", sa.Integer(), nullable=False),
        sa.Column("delivered_on", sa.Date(), nullable=False),
        sa.Column("delivered_by", sa.String(length=120), nullable=False),
        sa.Column("recipient_name", sa.String(length=120), nullable=False),
        sa.Column("recipient_title", sa.String(length=160), nullable=False),
        sa.Column("recipient_office", sa.String(length=160), nullable=False),
        sa.Column(
            "level",
            sa.Enum(
                "head_of_state_or_government",
                "minister",
                "deputy_minister",
                "senior_official",
                "working_level",
                name="delivery_level",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "method",
            sa.Enum(
                "meeting",
                "call",
                "non_paper",
                "diplomatic_note",
                "aide_memoire",
                "letter",
                name="delivery_method",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("points", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_deliveries_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["tasking_id"],
            ["taskings.id"],
            name=op.f("fk_deliveries_tasking_id_taskings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deliveries_tasking_id"), ["tasking_id"], unique=False)

    op.create_table(
        "responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tasking_id", sa.Integer(), nullable=False),
        sa.Column(
            "position",
            sa.Enum(
                "supports",
                "leans_supportive",
                "noncommittal",
                "leans_opposed",
                "opposes",
                "declined_to_respond",
                name="position",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column(
            "follow_up_needed", sa.Boolean(), server_default=sa.text("(false)"), nullable=False
        ),
        sa.Column("reporting_cable_ref", sa.String(length=40), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_responses_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["tasking_id"],
            ["taskings.id"],
            name=op.f("fk_responses_tasking_id_taskings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_responses")),
    )
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_responses_tasking_id"), ["tasking_id"], unique=False)

    op.create_table(
        "commitments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "fulfilled",
                "broken",
                "dropped",
                name="commitment_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["responses.id"],
            name=op.f("fk_commitments_response_id_responses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitments")),
    )
    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_commitments_response_id"), ["response_id"], unique=False
        )

    _forbid_audit_changes()


def downgrade() -> None:
    _allow_audit_changes()
    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commitments_response_id"))

    op.drop_table("commitments")
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_responses_tasking_id"))

    op.drop_table("responses")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliveries_tasking_id"))

    op.drop_table("deliveries")
    with op.batch_alter_table("taskings", schema=None) as batch_op:
        batch_op.drop_index("ix_taskings_status_due")
        batch_op.drop_index("ix_taskings_post_status_due")

    op.drop_table("taskings")
    op.drop_table("talking_points")
    op.drop_table("objectives")
    with op.batch_alter_table("key_dates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_key_dates_demarche_id"))

    op.drop_table("key_dates")
    with op.batch_alter_table("demarche_targets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_demarche_targets_post_id"))

    op.drop_table("demarche_targets")
    with op.batch_alter_table("demarche_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_demarche_tags_tag"))

    op.drop_table("demarche_tags")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_demarche_at")

    op.drop_table("audit_events")
    with op.batch_alter_table("demarches", schema=None) as batch_op:
        batch_op.drop_index("ix_demarches_status_deadline")
        batch_op.drop_index(batch_op.f("ix_demarches_source_cable_id"))
        batch_op.drop_index(batch_op.f("ix_demarches_author_id"))

    op.drop_table("demarches")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))

    op.drop_table("api_tokens")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_post_id"))

    op.drop_table("users")
    op.drop_table("collective_members")
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_posts_region"))

    op.drop_table("posts")
    op.drop_table("collectives")
    op.drop_table("cables")


# The audit trail is append-only in the database itself, not only in the ORM, so
# no code path (nor a stray SQL console) can edit or erase what happened.
def _forbid_audit_changes() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'audit events are append-only';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END"
            )


def _allow_audit_changes() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
    else:
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_events_no_{verb}")
