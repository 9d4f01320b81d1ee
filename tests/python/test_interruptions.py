"""A run stopped dead anywhere (SIGKILL), or by a disk that fills up, is completed by the next
run, which ends where an uninterrupted run ends.

One data folder is prepared by the run of 2 March 2026 (three contacts, three invitations).
For 3 June two contact deliveries, a KCM delivery and an opt-out land: the run loads them,
invites three customers, masks what is older than 3 March, compacts the warehouse and publishes
Q1. A copy of the folder runs 3 June uninterrupted; for each stop point another copy runs it in a
child process that kills itself there (`FEEDBACK_KILL_AT`, see `feedback.core.crash_points`),
then runs it again as usual. Warehouse, ledger, masking, files and marts must equal the
uninterrupted run's.

For a full disk the folder is copied onto a small disk of its own, a tmpfs mounted in a user and
mount namespace (`unshare`, no root needed), beside a file that takes all its room but `free`
bytes. `feedback run` fails there, with a message that says so; the file is removed, as an
operator makes room, and the run is made again.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest
from conftest import _SETTINGS, CONTACT_HEADER, KCM_HEADER, DataFolder, invitation_id

from feedback.core.crash_points import KILL_AT, KILL_SIGNAL
from feedback_cli import main as cli

PREPARED_ON = "2026-03-02"
RUN_DATE = "2026-06-03"

MARCH_CONTACTS = CONTACT_HEADER + (
    "c-1,k-1,service_question,2026-03-01 10:00:00,anna.maart@example.nl,Anna Maart,auto,phone\n"
    "c-2,k-2,new_policy,2026-03-01 11:00:00,bram.maart@example.nl,Bram Maart,woon,web\n"
    "c-3,k-3,claim_reported,2026-03-01 12:00:00,cor.maart@example.nl,Cor Maart,reis,web\n"
)
JUNE_CONTACTS_A = CONTACT_HEADER + (
    "c-4,k-4,cancellation,2026-06-02 09:00:00,dirk.juni@example.nl,Dirk Juni,auto,web\n"
    "c-5,k-5,invoice_declared,2026-06-02 09:30:00,eva.juni@example.nl,Eva Juni,zorg,app\n"
)
JUNE_CONTACTS_B = CONTACT_HEADER + (
    # Anna again: her invitation of 2 March is more than 28 days ago.
    "c-6,k-1,details_changed,2026-06-02 10:00:00,anna.juni@example.nl,Anna Maart,auto,web\n"
    # Cor opted out below: not invited.
    "c-7,k-3,service_question,2026-06-02 10:30:00,cor.juni@example.nl,Cor Maart,reis,phone\n"
)
JUNE_KCM = KCM_HEADER + (
    f"r-1;{invitation_id('c-1')};KCM-SQ-01;2026-03-02 20:00:00;8;Bel me: 06-11112222\n"
    f"r-2;{invitation_id('c-2')};KCM-NP-01;2026-03-05 09:00:00;6;Duurde lang\n"
)
OPT_OUTS = "customer_id,opted_out_at\nk-3,2026-05-01 12:00:00\n"
GONE = [
    "anna.maart@example.nl",
    "bram.maart@example.nl",
    "cor.maart@example.nl",
    "Bram Maart",
    "06-11112222",
]

STEPS = [
    "ledger__invitations",
    "load_landing_files",
    "dbt_rules",
    "invitations__invitation_emails",
    "privacy__personal_data_masking",
    "public__klanttevredenheid",
    "dbt_marts",
    "privacy__warehouse_compaction",
]
INSIDE = [
    "loading:between_files",
    "sending:after_handover",
    "masking:before_deleting_files",
    "compaction:before_swap",
]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> DataFolder:
    data = DataFolder(tmp_path_factory.mktemp("prepared"))
    data.land("contact_events", "contacts-2026-03-01.csv", MARCH_CONTACTS)
    data.run(PREPARED_ON)
    assert len(data.outbox()) == 3
    data.land("contact_events", "contacts-2026-06-02-a.csv", JUNE_CONTACTS_A)
    data.land("contact_events", "contacts-2026-06-02-b.csv", JUNE_CONTACTS_B)
    data.land("kcm_responses", "kcm-2026-06-02.csv", JUNE_KCM)
    data.land("opt_outs", "opt-outs-2026-06-02.csv", OPT_OUTS)
    return data


def copy_of(prepared: DataFolder, tmp_path_factory, name: str) -> DataFolder:
    root = tmp_path_factory.mktemp(name) / "data"
    shutil.copytree(prepared.root, root, symlinks=True)
    return DataFolder(root)


@pytest.fixture(scope="module")
def uninterrupted(prepared, tmp_path_factory) -> dict:
    data = copy_of(prepared, tmp_path_factory, "uninterrupted")
    data.run(RUN_DATE)
    result = state(data)
    # The scenario does what it is meant to: three invited, March masked, Q1 published.
    assert sorted(result["outbox"]) == sorted(invitation_id(c) for c in ("c-4", "c-5", "c-6"))
    assert result["masked"] == {"contact_event": 3, "invitation": 3, "kcm_response": 1}
    assert result["published"]["quarter"] == "2026-Q1"
    return result


def killed_run(data: DataFolder, as_of: str, point: str, how: str = "SIGKILL") -> int:
    """`feedback run` in a child process (forked: no second start-up) that sends itself the
    signal `how` at `point`; its exit code."""

    def child() -> None:
        os.environ["FEEDBACK_DATA_DIR"] = str(data.root)
        os.environ[KILL_AT] = point
        os.environ[KILL_SIGNAL] = how
        os.environ.pop("DAGSTER_HOME", None)
        silent = os.open(os.devnull, os.O_WRONLY)
        os.dup2(silent, 1)
        os.dup2(silent, 2)
        os._exit(cli.main(["run", "--as-of", as_of]))

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    process.join(timeout=600)
    if process.is_alive():
        process.kill()
        pytest.fail(f"the run to be stopped at {point} did not end")
    return process.exitcode


def state(data: DataFolder) -> dict:
    marts = [
        f"{schema}.{name}"
        for schema, name in data.query(
            "select table_schema, table_name from information_schema.tables"
            " where table_schema in ('marts', 'audit') and table_name != 'personal_data_maskings'"
        )
    ]
    files = data.files("landing", "archive", "quarantine", "outbox", "public")
    leftovers = sorted(
        path.name
        for path in data.root.iterdir()
        if path.name.endswith((".compacting", ".partial", ".wal", ".journal"))
    )
    found = {
        needle
        for path in data.root.rglob("*")
        if path.is_file()
        for needle in GONE
        if needle.encode() in path.read_bytes()
    }
    return {
        "tables": {
            name: data.table(name)
            for name in (
                "raw.contact_events",
                "raw.kcm_responses",
                "raw.opt_outs",
                "raw.unreadable_rows",
                "raw.ingestions",
                *marts,
            )
        },
        "ledger": data.query(
            "select invitation_id, state, sent_on, customer_id, email, masked_on"
            " from ledger.invitations order by all"
        ),
        "masked": dict(
            data.query(
                "select record_kind, sum(records_masked) from privacy.masking_log"
                " where record_kind in ('contact_event', 'kcm_response', 'invitation')"
                " group by all having sum(records_masked) > 0"
            )
        ),
        # Every masking that cleared something was followed by a rewrite of the file.
        "compacted": data.query(
            "select bool_and(compacted) from privacy.masking_log where records_masked > 0"
        ),
        "files": files,
        "outbox": data.outbox(),
        "published": data.published(),
        "reporting": reporting_marts(data),
        "leftovers": leftovers,
        "personal_data_past_3_months": found,
    }


def reporting_marts(data: DataFolder) -> dict:
    conn = duckdb.connect(str(data.root / "reporting.duckdb"), read_only=True)
    try:
        return {
            name: len(conn.execute(f"select * from marts.{name}").fetchall())
            for (name,) in conn.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
    finally:
        conn.close()


@pytest.mark.parametrize("point", [*(f"after:{step}" for step in STEPS), *INSIDE])
def test_a_run_killed_there_is_completed_by_the_next_run(
    point, prepared, uninterrupted, tmp_path_factory
):
    data = copy_of(prepared, tmp_path_factory, "killed")
    assert killed_run(data, RUN_DATE, point) == -signal.SIGKILL
    assert state(data) != uninterrupted  # it did stop before the end

    code, output = data.run(RUN_DATE)
    assert code == 0, output
    assert_ends_as_uninterrupted(data, uninterrupted)


# Ctrl-C in a step (between handing a message over and recording it) and between two steps.
@pytest.mark.parametrize("point", ["sending:after_handover", "after:dbt_rules"])
def test_a_run_stopped_by_ctrl_c_exits_130_and_is_completed_by_the_next_run(
    point, prepared, uninterrupted, tmp_path_factory
):
    data = copy_of(prepared, tmp_path_factory, "interrupted")
    assert killed_run(data, RUN_DATE, point, how="SIGINT") == cli.EXIT_INTERRUPTED
    assert state(data) != uninterrupted

    code, output = data.run(RUN_DATE)
    assert code == 0, output
    assert_ends_as_uninterrupted(data, uninterrupted)


def assert_ends_as_uninterrupted(data: DataFolder, uninterrupted: dict) -> None:
    result = state(data)
    for name, rows in uninterrupted["tables"].items():
        different = set(result["tables"][name]) ^ set(rows)
        assert result["tables"][name] == rows, f"{name}: {sorted(different, key=str)}"
    for part, expected in uninterrupted.items():
        assert result[part] == expected, part
    assert result["personal_data_past_3_months"] == set()
    assert result["leftovers"] == []
    assert json.dumps(result["published"]) == json.dumps(uninterrupted["published"])
    assert date.fromisoformat(result["published"]["published_on"]) == date(2026, 6, 3)


MB = 1024 * 1024

# Run inside the namespace: argv is the disk's mount point, the prepared folder, the folder to
# copy the result to, the bytes to leave free, the feedback command.
ON_A_SMALL_DISK = r"""
import json, os, shutil, subprocess, sys
disk, prepared, out, free, feedback, run_date = sys.argv[1:]
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256m", "tmpfs", disk], check=True)
data = os.path.join(disk, "data")
shutil.copytree(prepared, data, symlinks=True)
filler = os.path.join(disk, "filler")
with open(filler, "wb") as room:
    os.posix_fallocate(room.fileno(), 0, shutil.disk_usage(disk).free - int(free))
env = {**os.environ, "FEEDBACK_DATA_DIR": data}
command = [feedback, "run", "--as-of", run_date]
runs = [subprocess.run(command, env=env, capture_output=True, text=True)]
left = sorted(os.listdir(data)) + sorted(os.listdir(os.path.join(data, "reporting")))
os.remove(filler)
runs.append(subprocess.run(command, env=env, capture_output=True, text=True))
shutil.copytree(data, os.path.join(out, "data"), symlinks=True)
with open(os.path.join(out, "runs.json"), "w") as runs_file:
    json.dump([left, *([run.returncode, run.stdout, run.stderr] for run in runs)], runs_file)
"""


def namespaces_available() -> bool:
    unshare = shutil.which("unshare")
    return bool(unshare) and (
        subprocess.run([unshare, "-rm", "true"], capture_output=True).returncode == 0
    )


@pytest.mark.skipif(not namespaces_available(), reason="needs unshare -rm (user namespaces)")
# With 2 MB free Dagster's own storage (SQLite) is the first to find the disk full; with 15 MB,
# the rewrite of the warehouse after masking.
@pytest.mark.parametrize("free", [2 * MB, 15 * MB])
def test_a_run_that_fills_the_disk_fails_clearly_and_the_next_completes_it(
    free, prepared, uninterrupted, tmp_path, monkeypatch
):
    for name in _SETTINGS:
        monkeypatch.delenv(name, raising=False)
    disk, out = tmp_path / "disk", tmp_path / "out"
    disk.mkdir()
    out.mkdir()
    feedback = Path(sys.executable).with_name("feedback")
    subprocess.run(
        ["unshare", "-rm", sys.executable, "-c", ON_A_SMALL_DISK]
        + [str(disk), str(prepared.root), str(out), str(free), str(feedback), RUN_DATE],
        check=True,
        timeout=600,
    )
    left, (failed, _, said), (completed, printed, _) = json.loads((out / "runs.json").read_text())

    assert failed == 1
    assert "Traceback" not in said
    assert said.startswith("feedback run failed: ")
    assert "is full or nearly" in said
    assert "Make room and run again" in said
    # what it was writing when the disk filled up is gone: the room is there to make
    assert not [name for name in left if name.endswith((".compacting", ".partial"))], left
    assert len([name for name in left if name.startswith("marts-")]) == 1, left

    assert completed == 0, printed
    assert_ends_as_uninterrupted(DataFolder(out / "data"), uninterrupted)
