"""dbt inside the run's own process, through dbt's Python API (`dbtRunner`).

A `dbt` process per build starts Python and dbt again and reads the whole project each time:
seconds of every run before any SQL. Here the project is read once per process and both builds
of a run (the rules, then the marts) reuse it. dagster-dbt still turns dbt's events into
Dagster's: a materialization per model, an asset check result per data test.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator
from dagster_dbt.asset_utils import get_updated_cli_invocation_params_for_context
from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage
from dagster_dbt.errors import DagsterDbtCliRuntimeError
from dbt.adapters.duckdb.connections import DuckDBConnectionManager
from dbt.cli.main import dbtRunner
from dbt_common.events.functions import msg_to_dict

from feedback.core.settings import environment

# The dbt project as parsed, per project folder: the models do not depend on the data folder
# (the warehouse is always `warehouse.duckdb`, so relation names are the same in every one).
_parsed: dict[str, Any] = {}
_parsing = threading.Lock()
_RESULTS = {"LogSeedResult", "LogModelResult", "LogSnapshotResult", "LogTestResult"}
# How a run gives dbt its date (macros/run_date.sql). Set while dbt builds, unset while it parses:
# dbt notes the environment variables a file read when parsing it and parses the file again
# when one changes, which for the run date is every day.
RUN_DATE_VARIABLE = "FEEDBACK_RUN_DATE"


class DbtInProcess(dg.ConfigurableResource):
    """`dbt build` in this process, reported to Dagster as dagster-dbt's `dbt` process would be."""

    project_dir: str
    profiles_dir: str

    def build(
        self, context: dg.AssetExecutionContext, args: Sequence[str], target_path: Path
    ) -> Iterator[Any]:
        """`dbt build ARGS` over the assets (and checks) the step has selected; dbt's state (its
        logs and compiled SQL) under `target_path`. Yields Dagster's events, then raises when a
        model or a test failed."""
        # The selection of the step (a subset when started from the UI), as dagster-dbt makes it.
        params = get_updated_cli_invocation_params_for_context(context, {}, DagsterDbtTranslator())
        project = params.dbt_project
        project_dir = str(project.project_dir) if project else self.project_dir
        # No manifest.json and run_results.json in the data folder: Dagster records the results,
        # and writing the artifacts costs each build a good part of a second.
        common = [
            "--project-dir", project_dir,
            "--profiles-dir", self.profiles_dir,
            "--target-path", str(target_path),
            "--log-path", str(target_path),
            "--no-write-json",
        ]  # fmt: skip
        results: list[dict] = []

        def collect(event) -> None:
            if event.info.name in _RESULTS:
                results.append(msg_to_dict(event))

        command = ["build", *args, *params.selection_args, *common]
        if "DBT_LOG_LEVEL_FILE" not in os.environ:
            # dbt.log without the debug lines (each statement and each step of each node, about
            # 6,000 lines a run), which cost a daily run about a second. DBT_LOG_LEVEL_FILE=debug
            # brings them back; errors, with the database's messages, are logged either way.
            command += ["--log-level-file", "info"]
        if params.indirect_selection:
            command += ["--indirect-selection", params.indirect_selection]
        runner = dbtRunner(self._manifest(project_dir, common), callbacks=[collect])
        try:
            outcome = runner.invoke(command)
        finally:
            _close_warehouse()
        for raw in results:
            yield from DbtCoreCliEventMessage(raw, {}).to_default_asset_events(
                manifest=params.manifest,
                dagster_dbt_translator=params.dagster_dbt_translator,
                context=context,
                target_path=target_path,
                project=project,
            )
        if not outcome.success:
            raise DagsterDbtCliRuntimeError(
                description=f"dbt build failed: {_failures(outcome)} (dbt's log, with the"
                f" database's messages: {target_path / 'dbt.log'})"
            )

    @staticmethod
    def _manifest(project_dir: str, common: list[str]):
        """The project parsed once per process (dbt's partial parsing under the first data
        folder's state)."""
        with _parsing:
            if project_dir not in _parsed:
                with environment(**{RUN_DATE_VARIABLE: None}):
                    parsed = dbtRunner().invoke(["parse", "--quiet", *common])
                if not parsed.success:
                    raise DagsterDbtCliRuntimeError(
                        description=f"dbt could not read the project: {parsed.exception}"
                    )
                _parsed[project_dir] = parsed.result
            return _parsed[project_dir]


def _failures(outcome) -> str:
    """What failed, by node: a database's message can quote a value of the data, so it stays in
    dbt's log beside the warehouse; a test's says how many rows failed it."""
    if outcome.exception is not None:
        return str(outcome.exception)
    failed = [r for r in outcome.result.results if r.status in ("error", "fail")]
    return "; ".join(
        f"{r.node.resource_type} {r.node.name}: "
        + (r.message if r.node.resource_type == "test" else str(r.status))
        for r in failed
    )


def _close_warehouse() -> None:
    """Close the warehouse file dbt opened. dbt-duckdb keeps it open in the process for the next
    build, but the steps after this one attach it, compact it and copy it, and a run leaves it
    closed."""
    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
        DuckDBConnectionManager.close_all_connections()
