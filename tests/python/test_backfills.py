"""A range of run dates as a backfill in the Dagster UI: `feedback ui` (`dagster dev` with its
daemon) on the data folder's instance, the backfill launched through the UI's GraphQL API as the
UI's "Launch backfill" does, and its runs executed one after the other in date order."""

from __future__ import annotations

import json
import os
import socket
import sys
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path

import dagster as dg
from conftest import CONTACT_HEADER, background, invitation_id, wait_for

from orchestration.instance import dagster_instance

REPO = Path(__file__).resolve().parents[2]
DATES = ["2026-03-02", "2026-03-03", "2026-03-04"]
LAUNCH_BACKFILL = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _graphql(port: int, query: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["data"]


def test_a_backfill_of_run_dates_runs_each_date_in_order(data, tmp_path):
    # Contacts of 1, 2 and 3 March, each delivered the day after: each run invites one.
    for day, event in (("02", "e-1"), ("03", "e-2"), ("04", "e-3")):
        occurred = f"2026-03-{int(day) - 1:02d} 10:00:00"
        data.land(
            "contact_events",
            f"contacts-2026-03-{day}.csv",
            CONTACT_HEADER + f"{event},k-{event},new_policy,{occurred},k{event}@example.nl,,,web\n",
        )
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("FEEDBACK_") and key != "DAGSTER_HOME"
    }
    feedback = str(Path(sys.executable).with_name("feedback"))
    with background(
        [feedback, "ui", "--port", str(port)],
        {**env, "FEEDBACK_DATA_DIR": str(data.root)},
        REPO,
        tmp_path / "ui.log",
    ) as ui:

        def location_loaded():
            try:
                nodes = _graphql(
                    port,
                    "{ repositoriesOrError { ... on RepositoryConnection"
                    " { nodes { name location { name } } } } }",
                )
            except (urllib.error.URLError, ConnectionError, KeyError):
                return None
            return nodes["repositoriesOrError"].get("nodes")

        (repository,) = wait_for("code location", location_loaded, 180, ui)
        launched = _graphql(
            port,
            LAUNCH_BACKFILL,
            {
                "params": {
                    "selector": {
                        "partitionSetName": "feedback_daily_run_partition_set",
                        "repositorySelector": {
                            "repositoryName": repository["name"],
                            "repositoryLocationName": repository["location"]["name"],
                        },
                    },
                    "partitionNames": DATES,
                }
            },
        )["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched

        def finished_runs():
            with dagster_instance(data.root) as instance:
                records = instance.get_run_records()
            done = [r for r in records if r.dagster_run.is_finished]
            return sorted(done, key=lambda r: r.start_time) if len(done) == len(DATES) else None

        records = wait_for("three finished runs", finished_runs, 600, ui)

    # One run per date, each the partition of its date with that date's run configuration,
    # one after the other in date order.
    assert [r.dagster_run.tags["dagster/partition"] for r in records] == DATES
    assert {r.dagster_run.tags["dagster/backfill"] for r in records} == {launched["backfillId"]}
    assert all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in records)
    assert [r.dagster_run.run_config["resources"]["run_date"]["config"] for r in records] == [
        {"as_of": day} for day in DATES
    ]
    for before, after in zip(records, records[1:], strict=False):
        assert before.end_time <= after.start_time
    # What the runs of those dates do: each contact invited the day after it.
    assert data.query(
        "select contact_event_id, invitation_id, sent_on from ledger.invitations order by 1"
    ) == [
        ("e-1", invitation_id("e-1"), date(2026, 3, 2)),
        ("e-2", invitation_id("e-2"), date(2026, 3, 3)),
        ("e-3", invitation_id("e-3"), date(2026, 3, 4)),
    ]
