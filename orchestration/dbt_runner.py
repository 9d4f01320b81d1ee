"""`dbt build` for a step of the asset graph, reported to Dagster as dagster-dbt reports it: a
materialization per model, an asset check result per data test.

By default dbt runs inside the run's own process (`orchestration.private_speedups`); with
`FEEDBACK_PUBLIC_APIS_ONLY` set, through dagster-dbt's public `DbtCliResource`, a `dbt` process
per build.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource
from dagster_dbt.errors import DagsterDbtCliRuntimeError

from orchestration import private_speedups

# How a run gives dbt its date (macros/run_date.sql). Set while dbt builds; the in-process path
# unsets it while parsing, as dbt parses a file again when a variable it read changes.
RUN_DATE_VARIABLE = "FEEDBACK_RUN_DATE"


class DbtBuild(dg.ConfigurableResource):
    """`dbt build` over the assets (and checks) a step has selected."""

    project_dir: str
    profiles_dir: str

    def build(
        self, context: dg.AssetExecutionContext, args: Sequence[str], target_path: Path
    ) -> Iterator[Any]:
        """`dbt build ARGS`, dbt's state (its logs and compiled SQL) under `target_path`. Yields
        Dagster's events, then raises when a model or a test failed."""
        # dbt.log as text for whoever reads it, whatever format the events travel in.
        args = [*args, "--log-format-file", "text"]
        if "DBT_LOG_LEVEL_FILE" not in os.environ:
            # dbt.log without the debug lines (each statement and each step of each node);
            # DBT_LOG_LEVEL_FILE=debug brings them back. Errors, with the database's messages,
            # are logged either way.
            args += ["--log-level-file", "info"]
        if private_speedups.enabled():
            succeeded, results = yield from private_speedups.build_in_process(
                context, args, self.project_dir, self.profiles_dir, target_path, RUN_DATE_VARIABLE
            )
        else:
            succeeded, results = yield from self._build_in_dbt_process(context, args, target_path)
        failed = [
            f"{kind} {name}: " + ((message or "") if kind == "test" else status)
            for kind, name, status, message in results
            if status in ("error", "fail")
        ]
        if not succeeded:
            # By node: a database's message can quote a value of the data, so it stays in dbt's
            # log beside the warehouse; a test's says how many rows failed it.
            raise DagsterDbtCliRuntimeError(
                description=f"dbt build failed: {'; '.join(failed) or 'see its log'} (dbt's log,"
                f" with the database's messages: {target_path / 'dbt.log'})"
            )

    def _build_in_dbt_process(
        self, context: dg.AssetExecutionContext, args: list[str], target_path: Path
    ) -> Generator[Any, None, private_speedups.BuildOutcome]:
        """dagster-dbt's public path: a `dbt` process, its events streamed to Dagster."""
        dbt = DbtCliResource(project_dir=self.project_dir, profiles_dir=self.profiles_dir)
        invocation = dbt.cli(
            ["build", *args], context=context, target_path=target_path, raise_on_error=False
        )
        yield from invocation.stream()
        if (
            not invocation.is_successful()
            and not invocation.target_path.joinpath("run_results.json").exists()
        ):
            raise DagsterDbtCliRuntimeError(
                description=f"dbt build failed (dbt's log: {target_path / 'dbt.log'})"
            )
        nodes = invocation.manifest["nodes"]
        return invocation.is_successful(), [
            (node["resource_type"], node["name"], r["status"], r.get("message"))
            for r in invocation.get_artifact("run_results.json")["results"]
            if (node := nodes.get(r["unique_id"]))
        ]
