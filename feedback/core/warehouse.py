"""The tables that Python writes and dbt reads as sources: raw deliveries and the sender's ledger.

Raw tables keep every delivered value as text, so a row that fails a cast in staging is still there
to be rejected with its reason. Their definitions live here only; the dbt-duckdb plugin in
`feedback.core.dbt_plugin` runs `ensure_schema` too, so `dbt build` works on a new, empty warehouse.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import date
from pathlib import Path

import duckdb

from feedback.core.settings import memory_limit

# Bookkeeping columns on every raw row.
_ROW_META = """
    _ingestion_id integer not null,
    _file_name varchar not null,
    _line_number integer not null,
    _loaded_at timestamptz not null,
    _extra_columns json,
    _masked_on date
"""

DDL = f"""
create schema if not exists raw;
create schema if not exists ledger;
create schema if not exists privacy;
create sequence if not exists raw.ingestion_id_seq;

create table if not exists raw.ingestions (
    ingestion_id integer primary key,
    source varchar not null,
    file_name varchar not null,
    sha256 varchar not null,
    rows_read integer not null,
    ingested_at timestamptz not null,
    -- the run date D of the run that took the file in
    run_date date not null,
    stored_path varchar,
    reason varchar
);

create table if not exists raw.contact_events (
    event_id varchar,
    customer_id varchar,
    contact_type varchar,
    occurred_at varchar,
    email varchar,
    customer_name varchar,
    product varchar,
    channel varchar,
    {_ROW_META},
    -- set by masking, which empties the customer id: whether the row came without one, so
    -- that staging still rejects it (a masked row's empty customer id is no fault of the row)
    _delivered_without_customer_id boolean
);

create table if not exists raw.kcm_responses (
    response_id varchar,
    invitation_id varchar,
    questionnaire_id varchar,
    completed_at varchar,
    grade varchar,
    comment varchar,
    {_ROW_META}
);

create table if not exists raw.opt_outs (
    customer_id varchar,
    opted_out_at varchar,
    {_ROW_META}
);

-- What the unsubscribe page behind an e-mail's List-Unsubscribe link recorded.
create table if not exists raw.unsubscribes (
    invitation_id varchar,
    unsubscribed_at varchar,
    {_ROW_META}
);

-- Lines the CSV reader could not split into the header's columns, kept as they came.
create table if not exists raw.unreadable_rows (
    source varchar not null,
    _ingestion_id integer not null,
    _file_name varchar not null,
    _line_number integer not null,
    _loaded_at timestamptz not null,
    error varchar not null,
    row_text varchar,
    _masked_on date
);

-- The sender's ledger: the one record of what was sent. State: due (to send), sending (handed to
-- the server up to its final "."), sent, failed (refused for good, or no valid message), or
-- uncertain (a run stopped while the server had it; never sent again).
create table if not exists ledger.invitations (
    invitation_id varchar primary key,
    contact_event_id varchar not null,
    customer_id varchar,
    -- a one-way key of the customer id, kept after masking so that an unsubscribe from an old
    -- e-mail still opts its customer out
    customer_key varchar,
    contact_type varchar not null,
    contact_date date not null,
    questionnaire_id varchar not null,
    survey_url varchar not null,
    email varchar,
    customer_name varchar,
    state varchar not null,
    run_date date not null,
    sent_on date,
    updated_at timestamptz not null,
    -- the server's reply, without addresses, or why no valid message could be made
    error varchar,
    masked_on date,
    attempts integer default 0,
    last_reply_code integer,
    last_attempt_at timestamptz
);
-- Each contact's outcome (invited, or why not) once decided for good: invited, or past the
-- catch-up bound. Kept because the rules cannot tell any more once masking has cleared what they
-- read (customer ids, addresses). No personal data in it. One row per contact: the rules keep
-- only contacts not kept before (marts.contact_outcomes' unique test checks it in `make test`). No
-- primary key: its index, of every contact in the history, made each rewrite of the file (the
-- compaction after masking) rebuild it row by row.
create table if not exists ledger.contact_outcomes (
    contact_event_id varchar not null,
    outcome varchar not null,
    invitation_id varchar,
    invitation_sent_on date,
    blocking_invitation_id varchar,
    blocking_sent_on date,
    decided_on date not null,
    recorded_at timestamptz not null,
    -- what the rules had seen when they kept it: every contact dated before `catch_up_bound`
    -- and delivered up to `seen_through_ingestion_id` was decided then, and kept by then, so a
    -- later day looks up only the contacts outside that (NULL on rows kept before these columns)
    catch_up_bound date,
    seen_through_ingestion_id integer
);
-- Every publication of a quarter's figure, written once by the run that published it: a
-- published figure stands, whatever is delivered for its quarter later.
create table if not exists ledger.publications (
    quarter varchar primary key,
    published_grade decimal(3, 1) not null,
    response_count bigint not null,
    -- the unrounded mean it was rounded from (NULL when taken over from an earlier file)
    average_grade double,
    published_on date not null,
    recorded_at timestamptz not null
);
-- What each run's masking step did: per record kind, how many records it masked (or files and
-- messages it deleted) and the cutoff it used. `compacted`: the warehouse file has been rewritten
-- since, so none of its free blocks still holds a value this masking cleared.
create table if not exists privacy.masking_log (
    run_date date not null,
    masked_at timestamptz not null,
    record_kind varchar not null,
    masking_cutoff date not null,
    records_masked integer not null,
    compacted boolean not null default false
);

-- Columns added since the first ledger, for warehouses made before them.
alter table ledger.invitations add column if not exists customer_key varchar;
alter table ledger.invitations add column if not exists attempts integer default 0;
alter table ledger.invitations add column if not exists last_reply_code integer;
alter table ledger.invitations add column if not exists last_attempt_at timestamptz;
alter table raw.contact_events add column if not exists _delivered_without_customer_id boolean;
alter table ledger.contact_outcomes add column if not exists catch_up_bound date;
alter table ledger.contact_outcomes add column if not exists seen_through_ingestion_id integer;
"""


def open_duckdb(database: Path | str = ":memory:", **config: str) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection within the memory limit; past it, DuckDB spills to `<database>.tmp`
    (or the `temp_directory` given). No progress bar: a long statement would draw one on the
    terminal or in the run's log."""
    conn = duckdb.connect(str(database), config={"memory_limit": memory_limit(), **config})
    conn.execute("set enable_progress_bar = false")
    return conn


def path_literal(path: Path) -> str:
    """A file path as a SQL string literal, for ATTACH and COPY."""
    return "'" + str(path).replace("'", "''") + "'"


def remove_database(path: Path) -> None:
    """Remove a DuckDB file and its write-ahead log, where they are."""
    for part in (path, Path(f"{path}.wal")):
        part.unlink(missing_ok=True)


def ensure_schema(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(DDL)
    _drop_contact_outcomes_key(conn)


def _drop_contact_outcomes_key(conn: duckdb.DuckDBPyConnection) -> None:
    """Warehouses made before had a primary key on ledger.contact_outcomes (see the DDL). DuckDB
    cannot drop one, so the table is made again without it, once, in one transaction."""
    keyed = conn.execute(
        "select count(*) from duckdb_constraints() where database_name = current_database()"
        " and schema_name = 'ledger' and table_name = 'contact_outcomes'"
        " and constraint_type = 'PRIMARY KEY'"
    ).fetchone()[0]
    if not keyed:
        return
    conn.execute("begin")
    conn.execute("alter table ledger.contact_outcomes rename to contact_outcomes_keyed")
    conn.execute(DDL)
    conn.execute(
        "insert into ledger.contact_outcomes by name select * from ledger.contact_outcomes_keyed"
    )
    conn.execute("drop table ledger.contact_outcomes_keyed")
    conn.execute("commit")


# The connection `held` keeps open, by warehouse path (one per process: Dagster runs a run's steps
# one after another).
_HELD: dict[Path, duckdb.DuckDBPyConnection] = {}


@contextmanager
def held(path: Path) -> Iterator[None]:
    """One connection to the warehouse for a block of work: `connect` inside it lends that one
    instead of opening the file. A range run's steps go through their dates this way, rather
    than opening, checking and closing the file several times for each date, which was half of
    what a date cost."""
    if path in _HELD:
        yield
        return
    with _opened(path) as conn:
        _HELD[path] = conn
        try:
            yield
        finally:
            del _HELD[path]


@contextmanager
def connect(path: Path, run_date: date | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived connection (or the one `held` keeps): dbt opens the file its own way
    between steps, and the compaction and the BI copy need it closed.

    With `run_date`, the rules' views (`int_invitations__due`, `int_personal_data__expired`)
    answer for that date in this connection (see the `run_date` macro), whatever date dbt built
    them for: a range run applies them to each of its dates in turn."""
    if path not in _HELD:
        with _opened(path) as conn:
            _answer_for(conn, run_date)
            yield conn
        return
    conn = _HELD[path]
    _answer_for(conn, run_date)
    try:
        yield conn
    except BaseException:
        # Lent on to the next user as a short-lived one would be: outside a transaction.
        with suppress(duckdb.TransactionException):  # none was open
            conn.rollback()
        raise


@contextmanager
def _opened(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = open_duckdb(path)
    try:
        ensure_schema(conn)
        yield conn
    finally:
        conn.close()


def _answer_for(conn: duckdb.DuckDBPyConnection, run_date: date | None) -> None:
    if run_date is None:
        conn.execute("reset variable feedback_run_date")
    else:
        conn.execute(f"set variable feedback_run_date = date '{run_date.isoformat()}'")
