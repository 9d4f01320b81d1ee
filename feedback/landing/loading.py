"""Load landed CSV deliveries into raw tables, each file exactly once (by content hash).

DuckDB's CSV reader does the parsing. Every record of a file ends up in its raw table (all text,
with file name, line number and load time) or, when the reader cannot split it into the header's
columns, in `raw.unreadable_rows` with DuckDB's error. Value rules (timestamps, grades, ids) are
dbt staging's job. A file that cannot be read at all is moved to `quarantine/` and recorded with
the reason; a loaded file moves to `archive/`, a repeated delivery of loaded content is removed.
A file that changes while it is read is still being written, and one the run may not read is
not its to take: nothing of either is loaded, and each is left in landing/ for the next run.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import logging
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from feedback.core.crash_points import crash_point
from feedback.core.settings import Settings
from feedback.core.warehouse import connect, path_literal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Source:
    """A landing folder `landing/<name>/` and the raw table `raw.<name>` it loads into."""

    name: str
    delimiter: str
    columns: tuple[str, ...]


SOURCES = (
    Source(
        "contact_events",
        ",",
        (
            "event_id",
            "customer_id",
            "contact_type",
            "occurred_at",
            "email",
            "customer_name",
            "product",
            "channel",
        ),
    ),
    Source(
        "kcm_responses",
        ";",
        ("response_id", "invitation_id", "questionnaire_id", "completed_at", "grade", "comment"),
    ),
    Source("opt_outs", ",", ("customer_id", "opted_out_at")),
    Source("unsubscribes", ",", ("invitation_id", "unsubscribed_at")),
)


class UnreadableFile(Exception):
    """The file as a whole cannot be loaded; the message says why."""


@dataclass
class LoadSummary:
    loaded_at: str = ""
    files_loaded: int = 0
    rows_read: int = 0
    rows_unreadable: int = 0
    files_repeated: int = 0
    files_quarantined: list[str] = field(default_factory=list)
    # Each with why: still being written, or not readable by the run.
    files_left_in_landing: list[str] = field(default_factory=list)
    # What lies in landing/ that no run loads (relative to it, a folder with a trailing /).
    passed_over: list[str] = field(default_factory=list)


def load_landing(settings: Settings, run_date: date) -> LoadSummary:
    """Load every new file under landing/ in the run for `run_date`."""
    loaded_at = datetime.now(UTC)
    summary = LoadSummary(loaded_at=loaded_at.isoformat())
    with connect(settings.warehouse_path) as conn:
        for source in SOURCES:
            folder = settings.landing_dir / source.name
            if folder.exists() and not folder.is_dir():
                continue  # a file where the folder belongs: named among what is passed over
            folder.mkdir(parents=True, exist_ok=True)
            # Deliveries are named by date: name order is delivery order.
            for path in sorted(p for p in folder.iterdir() if p.is_file() and _is_csv(p)):
                _ingest_file(conn, settings, source, path, loaded_at, run_date, summary)
                crash_point("loading:between_files")
    summary.passed_over = _passed_over(settings.landing_dir)
    if summary.passed_over:
        log.warning("not loaded, as no run loads them: %s", ", ".join(summary.passed_over))
    return summary


@dataclass(frozen=True)
class LoadOutcome:
    """What a load came to once the rules judged its rows (`audit.ingested_files`)."""

    rows_loaded: int
    rows_rejected: int
    # (source/file name, reason) of each file moved to quarantine/.
    kept_aside: list[tuple[str, str]]


def load_outcome(settings: Settings, loaded_at: str | None) -> LoadOutcome:
    """The rows loaded and rejected, and the files kept aside, by the load at `loaded_at`."""
    at = loaded_at or "1970-01-01"
    with connect(settings.warehouse_path) as conn:
        loaded, rejected = conn.execute(
            "select coalesce(sum(rows_loaded), 0), coalesce(sum(rows_rejected), 0)"
            " from audit.ingested_files where ingested_at = ?::timestamptz and reason is null",
            [at],
        ).fetchone()
        kept_aside = conn.execute(
            "select source || '/' || file_name, reason from audit.ingested_files"
            " where ingested_at = ?::timestamptz and reason is not null"
            " and stored_path is not null",
            [at],
        ).fetchall()
    return LoadOutcome(loaded, rejected, kept_aside)


def _is_csv(path: Path) -> bool:
    return path.suffix.lower() == ".csv" and not path.name.startswith(".")


def _passed_over(landing: Path) -> list[str]:
    """What lies in landing/ that no run will load, said rather than left unnoticed: anything
    beside the source folders (a misspelt one, a file dropped in landing/ itself) and, in a
    source folder, a folder or a file not named *.csv. A name starting with a dot is an upload
    in progress and passes silently."""
    sources = {source.name for source in SOURCES}
    found = []
    for entry in sorted(landing.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.name not in sources or not entry.is_dir():
            found.append(_shown(entry, landing))
            continue
        found += [
            _shown(item, landing)
            for item in sorted(entry.iterdir())
            if not item.name.startswith(".") and not (item.is_file() and _is_csv(item))
        ]
    return found


def _shown(path: Path, landing: Path) -> str:
    return _readable(str(path.relative_to(landing))) + ("/" if path.is_dir() else "")


def _readable(name: str) -> str:
    """A file name as text: bytes of it that are not UTF-8 (a name made on a system with another
    code page), which Python keeps as lone surrogates, become U+FFFD."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


@dataclass(frozen=True)
class _Delivery:
    """One landed file in this run, as `raw.ingestions` records it."""

    ingestion_id: int
    source: Source
    path: Path
    sha256: str
    loaded_at: datetime
    run_date: date

    @property
    def name(self) -> str:
        return _readable(self.path.name)

    @property
    def shown(self) -> str:
        return f"{self.source.name}/{self.name}"

    def record(self, conn, rows_read: int, stored: str | None, reason: str | None) -> None:
        conn.execute(
            "insert into raw.ingestions by name select ? as ingestion_id, ? as source,"
            " ? as file_name, ? as sha256, ? as rows_read, ? as ingested_at, ? as run_date,"
            " ? as stored_path, ? as reason",
            [
                self.ingestion_id,
                self.source.name,
                self.name,
                self.sha256,
                rows_read,
                self.loaded_at,
                self.run_date,
                stored,
                reason,
            ],
        )


def _ingest_file(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    source: Source,
    path: Path,
    loaded_at: datetime,
    run_date: date,
    summary: LoadSummary,
) -> None:
    try:
        seen = _written(path)
        scan = _scan(path)
    except OSError as error:  # not readable by the run's user, say
        shown = _shown(path, settings.landing_dir)
        summary.files_left_in_landing.append(f"{shown} (cannot be read: {error.strerror})")
        log.warning("%s cannot be read (%s): left for the next run", shown, error.strerror)
        return
    sha256 = scan.sha256
    earlier = conn.execute(
        "select ingestion_id from raw.ingestions"
        " where source = ? and sha256 = ? and reason is null",
        [source.name, sha256],
    ).fetchone()
    ingestion_id = conn.execute("select nextval('raw.ingestion_id_seq')").fetchone()[0]
    delivery = _Delivery(ingestion_id, source, path, sha256, loaded_at, run_date)
    if earlier is not None:
        if _still_being_written(delivery, seen, summary):
            return
        # The same content again loads nothing; its rows are already in the warehouse.
        delivery.record(
            conn, 0, None, f"same content as ingestion {earlier[0]}, loaded before; nothing loaded"
        )
        path.unlink()
        summary.files_repeated += 1
        log.info("%s: repeated delivery, nothing loaded", delivery.shown)
        return

    # Where the file is kept, relative to the data folder: archive/ or quarantine/.
    kept_as = Path(source.name) / _kept_name(ingestion_id, delivery.name)
    stored = "archive" / kept_as
    conn.begin()
    try:
        rows_read, unreadable = _read_into_raw(conn, source, path, scan, ingestion_id, loaded_at)
        if _still_being_written(delivery, seen, summary):
            conn.rollback()
            return
        delivery.record(conn, rows_read, str(stored), None)
        conn.commit()
    except UnreadableFile as problem:
        conn.rollback()
        if _still_being_written(delivery, seen, summary):
            return
        stored = "quarantine" / kept_as
        delivery.record(conn, 0, str(stored), str(problem))
        _move(path, settings.data_dir / stored)
        summary.files_quarantined.append(delivery.shown)
        log.warning("%s kept aside in quarantine: %s", delivery.shown, problem)
        return
    except BaseException:
        conn.rollback()
        raise
    _move(path, settings.data_dir / stored)
    summary.files_loaded += 1
    summary.rows_read += rows_read
    summary.rows_unreadable += unreadable
    log.info("%s: %d rows read, %d unreadable", delivery.shown, rows_read, unreadable)


def _kept_name(ingestion_id: int, name: str, most: int = 255) -> str:
    """`000042-<name>`, the name a delivery is kept under, shortened in the middle (`~`) to the
    bytes a file name may have: a name that fits in landing/ may not fit with the number."""
    kept = f"{ingestion_id:06d}-{name}"
    if len(kept.encode()) <= most:
        return kept
    end = "~" + Path(name).suffix
    while len((kept + end).encode()) > most:
        kept = kept[:-1]
    return kept + end


def _written(path: Path) -> tuple[int, int]:
    """The file's size and time of last change."""
    status = path.stat()
    return status.st_size, status.st_mtime_ns


def _still_being_written(delivery: _Delivery, seen: tuple[int, int], summary: LoadSummary) -> bool:
    """Whether the file changed since `seen`, while this run read it: a delivery still being
    written (an upload in progress), whose rows so far are not the delivery. Such a file stays
    in landing/ for the next run, unrecorded; moved now, the rest of it would follow it into the
    archive, never loaded."""
    if _written(delivery.path) == seen:
        return False
    summary.files_left_in_landing.append(f"{delivery.shown} (changed while it was read)")
    log.warning(
        "%s changed while it was read (still being written?): left for the next run",
        delivery.shown,
    )
    return True


def _move(path: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(path, target)


def _header(path: Path, delimiter: str) -> list[str]:
    """The delivery's header record (after a byte-order mark), read as DuckDB's CSV reader reads
    a record."""
    with path.open(encoding="utf-8-sig", newline="") as file:
        try:
            return next(csv.reader(file, delimiter=delimiter, strict=True), [])
        except csv.Error as error:
            raise UnreadableFile(f"the header line cannot be read: {error}") from None


def _columns_by_name(source: Source, header: list[str]) -> dict[str, str]:
    """The header's columns as the reader names them, `c1`, `c2`, ... by position (no header
    name can clash with one the loading uses, such as `rowid`), by the name they are loaded
    under: the source's own columns by name in lower case without surrounding spaces (in any
    order; one named twice is ambiguous, and the file is kept aside), further ones by their
    header name, a repeated one numbered (`q1`, `q1_2`) and an empty one by its position
    (`column9`)."""
    by_name: dict[str, str] = {}
    for position, name in enumerate(header, start=1):
        key = name.strip().lower()
        if key in source.columns:
            if key in by_name:
                raise UnreadableFile(f"the header names column {key!r} twice")
        else:
            key = base = name if name.strip() else f"column{position}"
            n = 1
            while key in by_name:
                n += 1
                key = f"{base}_{n}"
        by_name[key] = f"c{position}"
    missing = [column for column in source.columns if column not in by_name]
    if missing:
        expected = source.delimiter.join(source.columns)
        raise UnreadableFile(
            f"the header lacks column(s) {', '.join(missing)}; expected a header like "
            f"{expected!r} (separated by {source.delimiter!r})"
        )
    return by_name


@dataclass(frozen=True)
class _Scan:
    sha256: str
    blank: bool
    # Where the first byte is that is not UTF-8; None when the file is UTF-8 text.
    invalid_byte_at: int | None
    # Whether it starts with a UTF-16 byte-order mark (a spreadsheet's "Unicode text").
    utf16: bool


_UTF16_MARKS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def _scan(path: Path, chunk_size: int = 1 << 20) -> _Scan:
    """The file's content hash, whether it holds anything but whitespace, and where it stops
    being UTF-8: read in chunks, as a history can be a file of gigabytes. The hash is taken in a
    thread of its own, as hashlib lets go of the interpreter while it hashes."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        sha256 = pool.submit(_sha256, path, chunk_size)
        decoder = codecs.getincrementaldecoder("utf-8")()
        blank, invalid_at, offset, start = True, None, 0, b""
        with path.open("rb") as file:
            while chunk := file.read(chunk_size):
                start += chunk[: 2 - len(start)]
                blank = blank and not chunk.strip()
                if invalid_at is None:
                    invalid_at = _invalid_utf8_at(decoder, chunk, offset)
                offset += len(chunk)
        if invalid_at is None:
            invalid_at = _invalid_utf8_at(decoder, b"", offset, final=True)
        return _Scan(sha256.result(), blank, invalid_at, start in _UTF16_MARKS)


def _sha256(path: Path, chunk_size: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def _invalid_utf8_at(decoder, chunk: bytes, offset: int, final: bool = False) -> int | None:
    """Decode the next chunk (at `offset` in the file); the file position of a byte that is not
    UTF-8 in it, if any. The decoder keeps a character cut off at a chunk's end for the next."""
    pending = len(decoder.getstate()[0])
    try:
        decoder.decode(chunk, final)
    except UnicodeDecodeError as error:
        return offset - pending + error.start
    return None


def _ordinal(conn, table: str) -> str:
    """An expression numbering the rows of `table` 1, 2, 3, ... in row id order. A table made by
    one statement holds its rows under consecutive row ids, so the number is the row id's offset;
    a window would sort the whole table for it, and is left for row ids with gaps."""
    first, last, count = conn.execute(
        f"select min(rowid), max(rowid), count(*) from {table}"
    ).fetchone()
    if count and last - first + 1 == count:
        return f"rowid - {first} + 1"
    return "row_number() over (order by rowid)"


def _read_into_raw(conn, source: Source, path: Path, scan: _Scan, ingestion_id: int, loaded_at):
    """Read one delivery with DuckDB's CSV reader; returns (records read, unreadable records)."""
    _refuse_unreadable(path, scan)
    header = _header(path, source.delimiter)
    by_name = _columns_by_name(source, header)
    _read_delivery(conn, source, path, len(header))
    selected = [f"{by_name[column]} as {column}" for column in source.columns]
    extras = {name: column for name, column in by_name.items() if name not in source.columns}
    # named by parameters: a header name is any text
    extra_json = (
        "json_object(" + ", ".join(f"?, {column}" for column in extras.values()) + ")"
        if extras
        else "null::json"
    )
    conn.execute(
        f"""
        insert into raw.{source.name} by name
        select
            {", ".join(selected)},
            {ingestion_id} as _ingestion_id,
            ? as _file_name,
            numbered_rows.__line as _line_number,
            ?::timestamptz as _loaded_at,
            {extra_json} as _extra_columns
        from ({_numbered_rows(conn)}) as numbered_rows
        """,
        [path.name, loaded_at, *extras],
    )
    conn.execute(
        f"""
        insert into raw.unreadable_rows by name
        select
            '{source.name}' as source,
            {ingestion_id} as _ingestion_id,
            ? as _file_name,
            line as _line_number,
            ?::timestamptz as _loaded_at,
            min(error_type) || ': ' || min(error_message) as error,
            ltrim(min(csv_line), chr(13) || chr(10)) as row_text
        from delivery_errors
        group by line
        """,
        [path.name, loaded_at],
    )
    readable = conn.execute("select count(*) from delivery").fetchone()[0]
    unreadable = conn.execute("select count(distinct line) from delivery_errors").fetchone()[0]
    conn.execute("drop table delivery; drop table delivery_errors; drop table delivery_scans")
    return readable + unreadable, unreadable


def _refuse_unreadable(path: Path, scan: _Scan) -> None:
    """A file that cannot be read at all is kept aside whole, with the reason."""
    if _readable(path.name) != path.name:
        raise UnreadableFile(
            "its name is not UTF-8 text (shown with U+FFFD), which DuckDB cannot open:"
            " rename it and deliver it again"
        )
    if scan.blank:
        raise UnreadableFile("the file is empty: a delivery starts with a header line")
    if scan.invalid_byte_at is not None:
        where = (
            "UTF-16, as a spreadsheet's 'Unicode text' is saved"
            if scan.utf16
            else f"invalid byte at position {scan.invalid_byte_at}"
        )
        raise UnreadableFile(f"not UTF-8 text ({where}): ask the sender for UTF-8")


def _read_delivery(conn, source: Source, path: Path, width: int) -> None:
    """The delivery's records into the temporary table `delivery` (columns c1, c2, ... by
    position), and those the reader could not read into `delivery_errors`."""
    columns = ", ".join(f"'c{position}': 'varchar'" for position in range(1, width + 1))
    conn.execute("drop table if exists delivery_errors; drop table if exists delivery_scans")
    try:
        conn.execute(
            f"""
            create or replace temp table delivery as
            -- the header's columns as given, not sniffed: the sniffer fails on a file with one
            -- broken record, which is rejected on its own here. Read in parallel, kept in file
            -- order (the rows' order numbers their lines).
            select * from read_csv({path_literal(path)}, delim = '{source.delimiter}',
                header = true, auto_detect = false, columns = {{{columns}}},
                quote = '"', escape = '"', parallel = true,
                store_rejects = true, rejects_table = 'delivery_errors',
                rejects_scan = 'delivery_scans')
            """
        )
    except duckdb.Error as error:
        first_line = str(error).strip().splitlines()[0]
        raise UnreadableFile(f"DuckDB's CSV reader could not read it: {first_line}") from None
    # A quote never closed makes the rest of the file one value: its lines cannot be told apart
    # from it, so rejecting that record would lose them.
    unclosed = conn.execute(
        "select min(line) from delivery_errors where error_message like '%unterminated quote%'"
        " and rtrim(csv_line, chr(13) || chr(10)) like '%' || chr(10) || '%'"
    ).fetchone()[0]
    if unclosed is not None:
        raise UnreadableFile(
            f"line {unclosed} opens a quoted value that is not closed before the end of the"
            " file, so the lines after it cannot be read: fix the quote and deliver it again"
        )


def _numbered_rows(conn) -> str:
    """A query of `delivery`'s rows with their line in the file as `__line`. The reader reports
    unreadable records by line (header = line 1, one line per record); the readable ones, in
    file order, take the other line numbers. With none unreadable (as a delivery mostly is) the
    n-th record is on line n + 1, and the lines of a long history need not be numbered and
    joined for it."""
    ordinal = _ordinal(conn, "delivery")
    if not conn.execute("select count(*) from delivery_errors").fetchone()[0]:
        return f"select *, {ordinal} + 1 as __line from delivery"
    return f"""
        with error_lines as (select distinct line from delivery_errors),
        numbered_rows as (select *, {ordinal} as ordinal from delivery),
        free_lines as (
            select line_number as __line, row_number() over (order by line_number) as ordinal
            from range(
                2, 2 + (select count(*) from delivery) + (select count(*) from error_lines)
            ) as lines(line_number)
            where line_number not in (select line from error_lines)
        )
        select * from numbered_rows join free_lines using (ordinal)
    """
