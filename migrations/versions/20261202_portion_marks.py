"""portion marks on every part of a demarche

Talking points already carried their own classification; the summary, the
objectives and the key dates now do too, so that a (S) paragraph drafted into a
CONFIDENTIAL demarche cannot lose its mark. Existing rows take their demarche's
classification, which is what they were shown at.

A portion written without a mark reads as SECRET (the server default): a writer that
forgets the mark fails closed. The app always writes one.

SQLite adds the columns in place (ALTER TABLE ... ADD COLUMN, with its CHECK) rather
than by batch mode's copy of the table: copying `demarches` drops the original, and
with foreign keys on, that drop deletes every objective, point, target and tasking by
cascade.

Revision ID: 0005c
Revises: 0005a
Create Date: 2026-12-02 02:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0005c"
down_revision: str | None = "0005a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEVELS = "'UNCLASSIFIED', 'SBU', 'CONFIDENTIAL', 'SECRET'"
# (table, column): each CHECK is named ck_<table>_<column>, as the models' naming
# convention names them.
PORTIONS = (
    ("demarches", "summary_classification"),
    ("objectives", "classification"),
    ("key_dates", "classification"),
)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, column in PORTIONS:
        check = f"ck_{table}_{column}"
        if sqlite:
            op.execute(
                f"ALTER TABLE {table} ADD COLUMN {column} VARCHAR(12) DEFAULT 'SECRET' NOT NULL "
                f"CONSTRAINT {check} CHECK ({column} IN ({LEVELS}))"
            )
        else:
            op.add_column(
                table,
                sa.Column(column, sa.String(length=12), server_default="SECRET", nullable=False),
            )
            op.create_check_constraint(op.f(check), table, f"{column} IN ({LEVELS})")
    # Every existing portion was shown at its demarche's level: it keeps that mark.
    op.execute("UPDATE demarches SET summary_classification = classification")
    for table in ("objectives", "key_dates"):
        op.execute(
            f"UPDATE {table} SET classification = "
            f"(SELECT d.classification FROM demarches d WHERE d.id = {table}.demarche_id)"
        )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, column in reversed(PORTIONS):
        if sqlite:
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        else:
            op.drop_constraint(op.f(f"ck_{table}_{column}"), table, type_="check")
            op.drop_column(table, column)
