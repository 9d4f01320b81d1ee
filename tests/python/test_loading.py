"""Loading: every delivered row is loaded or rejected with its reason; files load once."""

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import _SETTINGS, CONTACT_HEADER, KCM_HEADER
from hypothesis import given, settings
from hypothesis import strategies as st

from feedback.landing import loading
from feedback.landing.loading import _ordinal, _scan

KCM_FILE = (
    "\ufeffresponse_id;invitation_id;questionnaire_id;completed_at;grade;comment;q_service;q_extra\r\n"
    'r1;inv-a;KCM-SQ-01;2026-02-10T10:00:00Z;8;"Goed geholpen;\r\nheel snel";ja;\r\n'
    "r2;inv-b;KCM-SQ-01;2026-02-11 09:00:00;11;te hoog;ja;x\r\n"
    "r3;inv-c;KCM-SQ-01;2026-02-12 09:00:00;7.5;half;nee;x\r\n"
    "r4;inv-d;KCM-SQ-01;gisteren;6;geen datum;nee;x\r\n"
    ";inv-e;KCM-SQ-01;2026-02-12 09:00:00;6;geen id;nee;x\r\n"
    "r6;inv-f;KCM-SQ-01;2026-02-12 09:00:00;9;te veel;kolommen;x;y\r\n"
    'r7;inv-g;KCM-SQ-01;2026-02-13 09:00:00;10;"zegt ""top""";ja;x\r\n'
)


def test_kcm_delivery_loads_valid_rows_and_rejects_the_rest_with_reasons(data):
    data.land("kcm_responses", "kcm-2026-02-14.csv", KCM_FILE)
    data.land("contact_events", "contacts-2026-02-14.csv", CONTACT_HEADER)
    data.run("2026-02-15")

    responses = data.query(
        "select response_id, grade, comment, extra_answers from marts.survey_responses"
        " order by response_id"
    )
    assert responses == [
        ("r1", 8, "Goed geholpen;\r\nheel snel", '{"q_service":"ja","q_extra":null}'),
        ("r7", 10, 'zegt "top"', '{"q_service":"ja","q_extra":"x"}'),
    ]
    # The header is line 1; r1's quoted comment spans two physical lines but is one record.
    rejected = data.query(
        "select line_number, reason from audit.rejected_records"
        " where source = 'kcm_responses' order by line_number"
    )
    assert rejected == [
        (3, "grade is not a whole number from 1 to 10"),
        (4, "grade is not a whole number from 1 to 10"),
        (5, "completed_at is not an ISO 8601 timestamp"),
        (6, "missing response_id"),
        (7, "TOO MANY COLUMNS: Expected Number of Columns: 8 Found: 9"),
    ]
    row = data.query(
        "select row_as_delivered from audit.rejected_records where line_number = 3"
        " and source = 'kcm_responses'"
    )[0][0]
    assert '"grade":"11"' in row
    files = data.query(
        "select source, file_name, rows_loaded, rows_rejected, reason from audit.ingested_files"
        " order by source"
    )
    assert files == [
        ("contact_events", "contacts-2026-02-14.csv", 0, 0, None),
        ("kcm_responses", "kcm-2026-02-14.csv", 2, 5, None),
    ]
    assert not list((data.root / "landing" / "kcm_responses").iterdir())
    assert len(list((data.root / "archive" / "kcm_responses").iterdir())) == 1


def test_same_content_again_loads_nothing_and_a_later_delivery_replaces(data):
    first = KCM_FILE
    data.land("kcm_responses", "kcm-2026-02-14.csv", first)
    data.run("2026-02-15")

    # The same content under another name, and a correction of r1 in a later delivery.
    data.land("kcm_responses", "kcm-2026-02-15-copy.csv", first)
    data.land(
        "kcm_responses",
        "kcm-2026-02-16.csv",
        "response_id;invitation_id;questionnaire_id;completed_at;grade;comment\n"
        "r1;inv-a;KCM-SQ-01;2026-02-10T10:00:00Z;9;gecorrigeerd\n",
    )
    _, output = data.run("2026-02-17")
    assert "1 file(s) loaded, 1 row(s) loaded, 0 rejected" in output
    assert "1 repeated delivery" in output

    assert data.query(
        "select response_id, grade, comment from marts.survey_responses order by response_id"
    ) == [("r1", 9, "gecorrigeerd"), ("r7", 10, 'zegt "top"')]
    # Six readable records of the first file and the correction: the copy added none.
    assert data.query("select count(*) from raw.kcm_responses") == [(7,)]
    repeated = data.query(
        "select rows_loaded, reason from audit.ingested_files where file_name like '%copy%'"
    )
    assert repeated[0][0] == 0 and repeated[0][1].startswith("same content as ingestion")


def test_unreadable_files_are_kept_aside_with_a_clear_reason(data):
    data.land(
        "contact_events",
        "2026-02-14-latin1.csv",
        CONTACT_HEADER + "e1,k1,new_policy,2026-02-13 10:00:00,a@b.nl,Jos\xe9,,\n",
        encoding="latin-1",
    )
    data.land("contact_events", "2026-02-14-header.csv", "event_id;customer_id\ne1;k1\n")
    data.land("contact_events", "2026-02-14-utf16.csv", CONTACT_HEADER, encoding="utf-16")
    data.land("opt_outs", "2026-02-14-empty.csv", "")
    data.land(
        "contact_events",
        "2026-02-14-email-twice.csv",
        CONTACT_HEADER.replace("email", "email,E-mail,Email") + "e9,k9,,,,,,,,\n",
    )
    # A quote opened on line 3 and never closed: lines 4 and 5 would read as part of its value.
    data.land(
        "contact_events",
        "2026-02-14-unclosed.csv",
        CONTACT_HEADER
        + "e1,k1,new_policy,2026-02-13 10:00:00,a@b.nl,Jos,,\n"
        + 'e2,k2,new_policy,2026-02-13 10:00:00,b@b.nl,"Ann,,\n'
        + "e3,k3,new_policy,2026-02-13 10:00:00,c@b.nl,Cor,,\n"
        + "e4,k4,new_policy,2026-02-13 10:00:00,d@b.nl,Dirk,,\n",
    )
    _, output = data.run("2026-02-15")

    reasons = dict(
        data.query("select file_name, reason from audit.ingested_files where reason is not null")
    )
    assert reasons["2026-02-14-latin1.csv"].startswith("not UTF-8 text (invalid byte at position")
    assert reasons["2026-02-14-utf16.csv"] == (
        "not UTF-8 text (UTF-16, as a spreadsheet's 'Unicode text' is saved): ask the sender for"
        " UTF-8"
    )
    # Semicolons where commas belong: the header reads as one unknown column.
    assert reasons["2026-02-14-header.csv"] == (
        "the header lacks column(s) event_id, customer_id, contact_type, occurred_at, email, "
        "customer_name, product, channel; expected a header like 'event_id,customer_id,"
        "contact_type,occurred_at,email,customer_name,product,channel' (separated by ',')"
    )
    assert reasons["2026-02-14-empty.csv"].startswith("the file is empty")
    assert reasons["2026-02-14-email-twice.csv"] == "the header names column 'email' twice"
    assert reasons["2026-02-14-unclosed.csv"] == (
        "line 3 opens a quoted value that is not closed before the end of the file, so the lines"
        " after it cannot be read: fix the quote and deliver it again"
    )
    assert "6 kept aside in quarantine/" in output
    kept = sorted(p.name for p in (data.root / "quarantine").rglob("*.csv"))
    assert kept == [
        "000001-2026-02-14-email-twice.csv",
        "000002-2026-02-14-header.csv",
        "000003-2026-02-14-latin1.csv",
        "000004-2026-02-14-unclosed.csv",
        "000005-2026-02-14-utf16.csv",
        "000006-2026-02-14-empty.csv",
    ]
    assert data.query("select count(*) from raw.contact_events") == [(0,)]


def test_a_broken_record_is_rejected_alone_and_the_rest_of_its_file_loads(data):
    """The reader takes the header's columns as given: a record it cannot read (a quote closed
    too early, a line over DuckDB's 2,000,000 bytes) is rejected on its own, not the file."""
    data.land(
        "contact_events",
        "2026-02-14.csv",
        CONTACT_HEADER
        + "e1,k1,new_policy,2026-02-13 10:00:00,a@b.nl,Jos,,\n"
        + 'e2,k2,new_policy,2026-02-13 10:00:00,b@b.nl,"Ann"e,,\n'
        + "e3,k3,new_policy,2026-02-13 10:00:00,c@b.nl,"
        + "C" * 2_000_000
        + ",,\n"
        + "e4,k4,new_policy,2026-02-13 10:00:00,d@b.nl,Dirk,,\n",
    )
    # Further columns are kept by their names, whatever they are: repeated, empty, a name the
    # loading uses itself.
    data.land(
        "kcm_responses",
        "kcm-2026-02-14.csv",
        KCM_HEADER.replace("comment", 'comment;q1;q1; ;q1_2;rowid;"Q""1"')
        + "r1;inv-a;KCM-SQ-01;2026-02-13 10:00:00;8;prima;a;b;c;d;e;f\n",
    )
    _, output = data.run("2026-02-15")

    assert "0 kept aside in quarantine/" in output
    assert data.query(
        "select event_id, _line_number from raw.contact_events order by _line_number"
    ) == [("e1", 2), ("e4", 5)]
    rejected = data.query(
        "select line_number, reason from audit.rejected_records order by line_number"
    )
    assert rejected == [
        (3, "UNQUOTED VALUE: Value with unterminated quote found."),
        (
            4,
            "LINE SIZE OVER MAXIMUM: Maximum line size of 2000000 bytes exceeded."
            " Actual Size:2000046 bytes.",
        ),
    ]
    assert data.query("select extra_answers from marts.survey_responses") == [
        ('{"q1":"a","q1_2":"b","column9":"c","q1_2_2":"d","rowid":"e","Q\\"1":"f"}',)
    ]


def test_a_delivery_that_changes_while_it_is_read_is_left_for_the_next_run(data, monkeypatch):
    """An upload still in progress when the run reads the file: what is there so far is not the
    delivery (a cut-off row, a quote not closed yet). Nothing of it is loaded or kept aside; it
    stays in landing/, and the next run loads it whole."""
    contacts = data.land(
        "contact_events",
        "contacts-2026-02-14.csv",
        CONTACT_HEADER + "e1,k1,new_policy,2026-02-13 10:00:00,a@b.nl,Jos,,\ne2,k2,new_po",
    )
    kcm = data.land(
        "kcm_responses",
        "kcm-2026-02-14.csv",
        KCM_HEADER + 'r1;inv-a;KCM-SQ-01;2026-02-13 10:00:00;8;"Goed geholpen,\n',
    )
    rest = {contacts: "licy,2026-02-13 11:00:00,b@b.nl,Ann,,\n", kcm: 'heel snel"\n'}
    read_into_raw = loading._read_into_raw

    def while_the_upload_goes_on(conn, source, path, *args):
        try:
            return read_into_raw(conn, source, path, *args)
        finally:
            with path.open("a", encoding="utf-8") as upload:
                upload.write(rest.pop(path, ""))

    with monkeypatch.context() as patch:
        patch.setattr(loading, "_read_into_raw", while_the_upload_goes_on)
        _, output = data.run("2026-02-15")

    assert (
        "left in landing/ for the next run: contact_events/contacts-2026-02-14.csv (changed while"
        " it was read), kcm_responses/kcm-2026-02-14.csv (changed while it was read)"
    ) in output
    assert "0 kept aside in quarantine/" in output
    assert contacts.exists() and kcm.exists()
    for table in ("raw.ingestions", "raw.contact_events", "raw.kcm_responses"):
        assert data.query(f"select count(*) from {table}") == [(0,)], table

    _, output = data.run("2026-02-16")
    assert "2 file(s) loaded, 3 row(s) loaded, 0 rejected" in output
    assert data.query("select event_id from raw.contact_events order by 1") == [("e1",), ("e2",)]
    assert data.query("select comment from raw.kcm_responses") == [("Goed geholpen,\nheel snel",)]


def test_a_delivery_the_run_may_not_read_is_left_in_landing_and_the_rest_loads(data):
    """A file dropped by another user, readable only by them. As root a run could read it, so
    then the file belongs to `nobody` and the run is made in a user namespace (`unshare -r`),
    where root has no say over files of users it does not map."""
    row = CONTACT_HEADER + "{0},k-{0},new_policy,2026-02-13 10:00:00,{0}@example.nl,,,\n"
    private = data.land("contact_events", "contacts-2026-02-14-a.csv", row.format("e1"))
    data.land("contact_events", "contacts-2026-02-14-b.csv", row.format("e2"))
    private.chmod(0o600)
    command = [str(Path(sys.executable).with_name("feedback")), "run", "--as-of", "2026-02-15"]
    if os.geteuid() == 0:
        if not shutil.which("unshare"):
            pytest.skip("as root, needs unshare -r to be refused a file")
        os.chown(private, 65534, 65534)
        command = ["unshare", "-r", *command]
    else:
        private.chmod(0o000)
    env = {k: v for k, v in os.environ.items() if k not in _SETTINGS}
    run = subprocess.run(
        command, env={**env, "FEEDBACK_DATA_DIR": str(data.root)}, capture_output=True, text=True
    )

    assert run.returncode == 0, run.stderr
    assert (
        "left in landing/ for the next run: contact_events/contacts-2026-02-14-a.csv (cannot be"
        " read: Permission denied)"
    ) in run.stdout
    assert data.query("select event_id from raw.contact_events") == [("e2",)]
    assert private.exists()

    private.chmod(0o644)
    _, output = data.run("2026-02-16")
    assert "1 file(s) loaded, 1 row(s) loaded" in output
    assert data.query("select event_id from raw.contact_events order by 1") == [("e1",), ("e2",)]


def test_what_lies_in_landing_that_no_run_loads_is_named_in_the_summary(data):
    row = CONTACT_HEADER + "e1,k1,new_policy,2026-02-13 10:00:00,a@b.nl,Jos,,\n"
    passed_over = [
        data.land("contact_event", "contacts-2026-02-14.csv", row),  # a misspelt source
        data.land("contact_events", "contacts-2026-02-14.txt", row),
        data.land("contact_events/2026", "contacts-2026-02-14.csv", row),
        data.root / "landing" / "contacts-2026-02-14.csv",
        data.root / "landing" / "opt_outs",  # a file where the folder belongs
    ]
    for path in passed_over[-2:]:
        path.write_text(row)
    uploading = data.land("contact_events", ".contacts-2026-02-14.csv", row)

    _, output = data.run("2026-02-15")

    assert (
        "not loaded, as no run loads them (a source folder takes *.csv files): contact_event/,"
        " contact_events/2026/, contact_events/contacts-2026-02-14.txt, contacts-2026-02-14.csv,"
        " opt_outs\n"
    ) in output
    assert ".contacts" not in output
    assert all(path.exists() for path in [*passed_over, uploading])
    assert data.query("select count(*) from raw.ingestions") == [(0,)]


def test_a_delivery_whose_name_fills_a_file_name_is_kept_under_a_shortened_one(data):
    name = "contacts-" + "é" * 119 + ".csv"  # 251 bytes: the kept name would be 258
    data.land("contact_events", name, CONTACT_HEADER + "e1,k1,new_policy,2026-02-13 10:00:00,,,,\n")
    data.run("2026-02-15")

    (kept,) = (data.root / "archive" / "contact_events").iterdir()
    assert len(kept.name.encode()) <= 255
    assert kept.name.startswith("000001-contacts-éé") and kept.name.endswith("é~.csv")
    assert data.query("select file_name, stored_path from raw.ingestions") == [
        (name, f"archive/contact_events/{kept.name}")
    ]


def test_a_file_name_that_is_not_utf8_is_kept_aside_and_named_readably(data):
    """A name made on a system with another code page (Latin-1 `été` from a Windows share):
    Python holds its bytes as lone surrogates, which neither DuckDB nor a text column takes."""
    row = CONTACT_HEADER + "e1,k1,new_policy,2026-02-13 10:00:00,a@b.nl,Jos,,\n"
    data.land("contact_events", "contacts-\udce9t\udce9.csv", row)
    data.land("contact_events", "notes-\udce9t\udce9.txt", row)
    _, output = data.run("2026-02-15")

    assert (
        "quarantined contact_events/contacts-\ufffdt\ufffd.csv: its name is not UTF-8 text"
    ) in output
    assert "not loaded, as no run loads them (a source folder takes *.csv files):" in output
    assert "contact_events/notes-\ufffdt\ufffd.txt" in output
    assert [p.name for p in (data.root / "quarantine" / "contact_events").iterdir()] == [
        "000001-contacts-\ufffdt\ufffd.csv"
    ]


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet="aé€𝄞 \n", max_size=20).map(str.encode),
    insert=st.one_of(
        st.none(),
        st.sampled_from([b"\xff", b"\xe9", b"\xe2\x82", b"\x80", b"\xff\xfe", b"\xfe\xff"]),
    ),
    at=st.integers(min_value=0),
    chunk_size=st.sampled_from([1, 2, 3, 5, 1 << 20]),
)
def test_a_file_read_in_chunks_is_judged_as_if_read_whole(
    tmp_path_factory, text, insert, at, chunk_size
):
    """A delivery is checked in chunks (a history can be gigabytes): its hash, whether it is
    blank, where it stops being UTF-8 and whether it starts as UTF-16 must be what reading it
    whole would say, whichever chunk boundary cuts a character."""
    if insert is not None:
        at %= len(text) + 1
        text = text[:at] + insert + text[at:]
    path = tmp_path_factory.mktemp("scan") / "delivery.csv"
    path.write_bytes(text)
    try:
        text.decode("utf-8")
        invalid_at = None
    except UnicodeDecodeError as error:
        invalid_at = error.start

    scan = _scan(path, chunk_size)

    assert scan.sha256 == hashlib.sha256(text).hexdigest()
    assert scan.blank == (not text.strip())
    assert scan.invalid_byte_at == invalid_at
    assert scan.utf16 == (text[:2] in (b"\xff\xfe", b"\xfe\xff"))


def test_rows_are_numbered_in_row_id_order_with_or_without_gaps_in_the_ids():
    """A delivery's rows are numbered by their row ids (no sort) when the ids have no gaps, as
    in a table one statement made, and by a window over them otherwise."""
    conn = duckdb.connect()
    conn.execute("create table rows as select 'r' || i as name from range(1, 8) as t(i)")
    conn.execute("delete from rows where name in ('r1', 'r4')")
    conn.execute("create table dense as select * from rows")
    conn.execute("create table empty as select * from rows limit 0")
    for table in ("rows", "dense"):
        ordinal = _ordinal(conn, table)
        assert ("row_number" in ordinal) == (table == "rows")
        numbered = conn.execute(
            f"select name, {ordinal} as ordinal from {table} order by ordinal"
        ).fetchall()
        assert numbered == [("r2", 1), ("r3", 2), ("r5", 3), ("r6", 4), ("r7", 5)]
    assert conn.execute(f"select {_ordinal(conn, 'empty')} from empty").fetchall() == []
