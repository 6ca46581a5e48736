"""The search index's rows, as queries read them (the database writes them: ddl.py).

On a MetaData of its own: Alembic and the ORM never create or compare it."""

from __future__ import annotations

import enum

from sqlalchemy import Column, Integer, MetaData, String, Table, Text

from app.search.ddl import TABLE


class Kind(enum.StrEnum):
    DEMARCHE = "demarche"
    CABLE = "cable"
    RESPONSE = "response"
    DELIVERY = "delivery"
    POST = "post"


portions = Table(
    TABLE,
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("kind", String(16)),
    Column("field", String(16)),
    Column("source", String(24)),
    Column("source_id", Integer),
    Column("record_id", Integer),
    Column("demarche_id", Integer),
    Column("tasking_id", Integer),
    Column("cable_id", Integer),
    Column("post_id", Integer),
    Column("classification", String(16)),
    Column("body", Text),
)
