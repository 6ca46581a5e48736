"""The full-text index as the database keeps it: one row per portion, written by triggers.

Every searchable portion (a demarche's subject, summary, each objective, talking point,
key date and tag; a cable's ref id, subject, TAGS and body; a response's summary and
each commitment; a delivery's recipient; a post) is one row of `search_portions`, with
its own portion mark and the records that decide who may read it (demarche, tasking,
cable, post). The search filters those rows by the policy before it ranks or counts,
so a portion the reader may not see never matches, scores or shows in a snippet.

The database keeps the rows current: AFTER triggers on each source table, firing on
insert, delete and an UPDATE OF the indexed columns only (a version bump or a status
change writes nothing here). PostgreSQL indexes `body` in a generated tsvector column
(English configuration over unaccented text) with a GIN index; SQLite in an FTS5
external-content table (porter stemming, diacritics removed) fed by triggers on
`search_portions`. Neither is in the ORM metadata: `outside_models` tells Alembic's
comparison to leave them alone.

The migration that builds it (20261202_full_text_search) and `demarche search reindex`
both run these statements; the migration calls them as they were on the day it was
written, so a change here needs a new migration.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

TABLE = "search_portions"
FTS = "search_fts"
PREFIX = "search_"

COLUMNS = (
    "kind",
    "field",
    "source",
    "source_id",
    "record_id",
    "demarche_id",
    "tasking_id",
    "cable_id",
    "post_id",
    "classification",
    "body",
)


def outside_models(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's include_name: the search tables (and FTS5's shadow tables) are the
    database's own, built by the migration, not mapped."""
    return not (type_ == "table" and name is not None and name.startswith(PREFIX))


# Typed, or PostgreSQL reads a bare NULL in a subquery as text.
_NO_ID = "CAST(NULL AS INTEGER)"


@dataclass(frozen=True)
class Portion:
    """One portion a row of `source` gives: expressions over the row `{r}`."""

    kind: str
    field: str
    body: str
    record_id: str
    demarche_id: str = _NO_ID
    tasking_id: str = _NO_ID
    cable_id: str = _NO_ID
    post_id: str = _NO_ID
    classification: str = "CAST(NULL AS VARCHAR(16))"  # no mark of its own: its record's


@dataclass(frozen=True)
class Source:
    table: str
    portions: tuple[Portion, ...]
    watched: tuple[str, ...]  # the columns whose update rewrites its portions
    key: str = "id"  # what source_id holds
    # A source without a one-column key (a demarche's tag): what else names its row.
    also: str = ""


_TASKING_DEMARCHE = "(SELECT t.demarche_id FROM taskings t WHERE t.id = {r}.tasking_id)"
_TASKING_POST = "(SELECT t.post_id FROM taskings t WHERE t.id = {r}.tasking_id)"
_RESPONSE_TASKING = "(SELECT x.tasking_id FROM responses x WHERE x.id = {r}.response_id)"


def _cable_tags(dialect: str) -> str:
    """The cable's TAGS as one line; anything but a list of them indexes as nothing (a
    write must never fail for the index's sake)."""
    if dialect == "postgresql":
        return (
            "(CASE WHEN json_typeof({r}.tags) = 'array' THEN (SELECT string_agg(j, ' ') "
            "FROM json_array_elements_text({r}.tags) AS j) END)"
        )
    return (
        "(CASE WHEN json_valid({r}.tags) AND json_type({r}.tags) = 'array' THEN "
        "(SELECT group_concat(value, ' ') FROM json_each({r}.tags)) END)"
    )


def sources(dialect: str) -> tuple[Source, ...]:
    demarche = {"record_id": "{r}.id", "demarche_id": "{r}.id"}
    portion_of = {"record_id": "{r}.demarche_id", "demarche_id": "{r}.demarche_id"}
    cable = {"record_id": "{r}.id", "cable_id": "{r}.id", "post_id": "{r}.post_id"}
    on_tasking = {
        "demarche_id": _TASKING_DEMARCHE,
        "tasking_id": "{r}.tasking_id",
        "post_id": _TASKING_POST,
    }
    commitment_tasking = _RESPONSE_TASKING
    return (
        Source(
            "demarches",
            (
                Portion("demarche", "subject", "{r}.subject", **demarche),
                Portion(
                    "demarche",
                    "summary",
                    "{r}.summary",
                    classification="{r}.summary_classification",
                    **demarche,
                ),
            ),
            ("subject", "summary", "summary_classification"),
        ),
        Source(
            "objectives",
            (
                Portion(
                    "demarche",
                    "objective",
                    "{r}.text",
                    classification="{r}.classification",
                    **portion_of,
                ),
            ),
            ("text", "classification"),
        ),
        Source(
            "talking_points",
            (
                Portion(
                    "demarche",
                    "point",
                    "{r}.text",
                    classification="{r}.classification",
                    **portion_of,
                ),
            ),
            ("text", "classification"),
        ),
        Source(
            "key_dates",
            (
                Portion(
                    "demarche",
                    "key_date",
                    "{r}.what",
                    classification="{r}.classification",
                    **portion_of,
                ),
            ),
            ("what", "classification"),
        ),
        Source(
            "demarche_tags",
            (Portion("demarche", "tag", "{r}.tag", **portion_of),),
            ("tag",),
            key="demarche_id",
            also="body = {r}.tag",
        ),
        Source(
            "cables",
            (
                Portion("cable", "ref", "{r}.ref_id", **cable),
                Portion("cable", "subject", "{r}.subject", **cable),
                Portion("cable", "tags", _cable_tags(dialect), **cable),
                Portion("cable", "body", "{r}.raw_text", **cable),
            ),
            ("ref_id", "subject", "tags", "raw_text", "post_id"),
        ),
        Source(
            "responses",
            (Portion("response", "summary", "{r}.summary", record_id="{r}.id", **on_tasking),),
            ("summary",),
        ),
        Source(
            "commitments",
            (
                Portion(
                    "response",
                    "commitment",
                    "{r}.text",
                    record_id="{r}.response_id",
                    demarche_id=f"(SELECT t.demarche_id FROM taskings t WHERE t.id = "
                    f"{commitment_tasking})",
                    tasking_id=commitment_tasking,
                    post_id=f"(SELECT t.post_id FROM taskings t WHERE t.id = {commitment_tasking})",
                ),
            ),
            ("text",),
        ),
        Source(
            "deliveries",
            (
                Portion(
                    "delivery",
                    "recipient",
                    "{r}.recipient_name || ', ' || {r}.recipient_title || ', ' "
                    "|| {r}.recipient_office",
                    record_id="{r}.id",
                    **on_tasking,
                ),
            ),
            ("recipient_name", "recipient_title", "recipient_office"),
        ),
        Source(
            "posts",
            (
                Portion(
                    "post",
                    "post",
                    "{r}.code || ' ' || {r}.name || ' ' || {r}.city || ' ' || {r}.country",
                    record_id="{r}.id",
                    post_id="{r}.id",
                ),
            ),
            ("code", "name", "city", "country"),
        ),
    )


def _values(source: Source, p: Portion) -> list[str]:
    return [
        f"'{p.kind}'",
        f"'{p.field}'",
        f"'{source.table}'",
        f"{{r}}.{source.key}",
        p.record_id,
        p.demarche_id,
        p.tasking_id,
        p.cable_id,
        p.post_id,
        p.classification,
        f"coalesce({p.body}, '')",
    ]


def _insert(source: Source, r: str) -> str:
    """A trigger's INSERT of the row `r`'s portions (a UNION ALL of its fields)."""
    parts = [
        "SELECT "
        + ", ".join(f"{v} AS {c}" for v, c in zip(_values(source, p), COLUMNS, strict=True))
        for p in source.portions
    ]
    union = " UNION ALL ".join(parts).replace("{r}", r)
    return (
        f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) "
        f"SELECT * FROM ({union}) AS s WHERE s.body <> ''"
    )


def _backfill(source: Source, p: Portion) -> str:
    """Every row's portion of this field, in one INSERT ... SELECT."""
    values = [v.replace("{r}", "src") for v in _values(source, p)]
    return (
        f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) SELECT {', '.join(values)} "
        f"FROM {source.table} AS src WHERE {values[-1]} <> '' ORDER BY src.{source.key}"
    )


def _delete(source: Source, r: str) -> str:
    also = f" AND {source.also.replace('{r}', r)}" if source.also else ""
    return (
        f"DELETE FROM {TABLE} WHERE source = '{source.table}' "
        f"AND source_id = {r}.{source.key}{also}"
    )


def _fold_pg(unaccent: bool) -> str:
    # Angle brackets become spaces: PostgreSQL's parser would read `<b>word` as markup and
    # index nothing of it, where the text means its words (and the query the same).
    if unaccent:
        body = "SELECT translate(public.unaccent('public.unaccent'::regdictionary, $1), '<>', '  ')"
    else:  # no contrib: the Latin letters names carry, by hand
        body = (
            "SELECT translate($1, 'ÀÁÂÃÄÅàáâãäåÇçĆćČčÈÉÊËèéêëĞğÌÍÎÏìíîïıİÑñŃńÒÓÔÕÖØòóôõöø"
            "ŞşŚśŠšÙÚÛÜùúûüÝýÿŽžŹźŻżŁłßĂăȘșȚț<>', 'AAAAAAaaaaaaCcCcCcEEEEeeeeGgIIIIiiiiiI"
            "NnNnOOOOOOooooooSsSsSsUUUUuuuuYyyZzZzZzLlsAaSsTt  ')"
        )
    return (
        "CREATE OR REPLACE FUNCTION search_fold(text) RETURNS text "
        f"LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ {body} $$"
    )


def create_postgresql(unaccent: bool) -> Iterator[str]:
    """The PostgreSQL statements, in order (`unaccent`: the contrib extension is there)."""
    if unaccent:
        yield "CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public"
    yield _fold_pg(unaccent)
    yield (
        f"CREATE TABLE {TABLE} (id BIGSERIAL PRIMARY KEY, kind VARCHAR(16) NOT NULL, "
        "field VARCHAR(16) NOT NULL, source VARCHAR(24) NOT NULL, source_id INTEGER NOT NULL, "
        "record_id INTEGER NOT NULL, demarche_id INTEGER, tasking_id INTEGER, "
        "cable_id INTEGER, post_id INTEGER, classification VARCHAR(16), body TEXT NOT NULL, "
        "tsv TSVECTOR GENERATED ALWAYS AS (to_tsvector('english'::regconfig, "
        "search_fold(body))) STORED)"
    )
    yield from _indexes()
    yield f"CREATE INDEX ix_{TABLE}_tsv ON {TABLE} USING gin (tsv)"
    for s in sources("postgresql"):
        yield (
            f"CREATE FUNCTION search_sync_{s.table}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN IF TG_OP <> 'INSERT' THEN {_delete(s, 'OLD')}; END IF; "
            f"IF TG_OP <> 'DELETE' THEN {_insert(s, 'NEW')}; END IF; RETURN NULL; END $$"
        )
        yield (
            f"CREATE TRIGGER search_sync AFTER INSERT OR DELETE OR UPDATE OF "
            f"{', '.join(s.watched)} ON {s.table} FOR EACH ROW "
            f"EXECUTE FUNCTION search_sync_{s.table}()"
        )


def _indexes() -> Iterator[str]:
    yield f"CREATE INDEX ix_{TABLE}_source ON {TABLE} (source, source_id)"
    yield f"CREATE INDEX ix_{TABLE}_kind_record ON {TABLE} (kind, record_id)"


def create_sqlite() -> Iterator[str]:
    yield (
        f"CREATE TABLE {TABLE} (id INTEGER PRIMARY KEY, kind VARCHAR(16) NOT NULL, "
        "field VARCHAR(16) NOT NULL, source VARCHAR(24) NOT NULL, source_id INTEGER NOT NULL, "
        "record_id INTEGER NOT NULL, demarche_id INTEGER, tasking_id INTEGER, "
        "cable_id INTEGER, post_id INTEGER, classification VARCHAR(16), body TEXT NOT NULL)"
    )
    yield from _indexes()
    yield (
        f"CREATE VIRTUAL TABLE {FTS} USING fts5(body, content='{TABLE}', content_rowid='id', "
        "tokenize='porter unicode61 remove_diacritics 2')"
    )
    yield (
        f"CREATE TRIGGER search_fts_ai AFTER INSERT ON {TABLE} BEGIN "
        f"INSERT INTO {FTS} (rowid, body) VALUES (new.id, new.body); END"
    )
    yield (
        f"CREATE TRIGGER search_fts_ad AFTER DELETE ON {TABLE} BEGIN "
        f"INSERT INTO {FTS} ({FTS}, rowid, body) VALUES ('delete', old.id, old.body); END"
    )
    for s in sources("sqlite"):
        yield (
            f"CREATE TRIGGER search_{s.table}_ai AFTER INSERT ON {s.table} BEGIN "
            f"{_insert(s, 'NEW')}; END"
        )
        yield (
            f"CREATE TRIGGER search_{s.table}_ad AFTER DELETE ON {s.table} BEGIN "
            f"{_delete(s, 'OLD')}; END"
        )
        yield (
            f"CREATE TRIGGER search_{s.table}_au AFTER UPDATE OF {', '.join(s.watched)} "
            f"ON {s.table} BEGIN {_delete(s, 'OLD')}; {_insert(s, 'NEW')}; END"
        )


def create(dialect: str, *, unaccent: bool = True) -> Iterator[str]:
    return create_postgresql(unaccent) if dialect == "postgresql" else create_sqlite()


def backfill_steps(dialect: str) -> Iterator[tuple[str, str]]:
    """(what, statement): every portion of every row, from scratch."""
    yield "clearing", f"DELETE FROM {TABLE}"
    for s in sources(dialect):
        for p in s.portions:
            yield f"{s.table} {p.field}", _backfill(s, p)


def backfill(dialect: str) -> Iterator[str]:
    return (statement for _what, statement in backfill_steps(dialect))


def drop(dialect: str) -> Iterator[str]:
    if dialect == "postgresql":
        for s in sources(dialect):
            yield f"DROP TRIGGER IF EXISTS search_sync ON {s.table}"
            yield f"DROP FUNCTION IF EXISTS search_sync_{s.table}()"
        yield f"DROP TABLE IF EXISTS {TABLE}"
        yield "DROP FUNCTION IF EXISTS search_fold(text)"
        return
    for s in sources(dialect):
        for suffix in ("ai", "ad", "au"):
            yield f"DROP TRIGGER IF EXISTS search_{s.table}_{suffix}"
    yield f"DROP TABLE IF EXISTS {FTS}"
    yield f"DROP TABLE IF EXISTS {TABLE}"
