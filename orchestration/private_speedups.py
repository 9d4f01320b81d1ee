"""The one module that reaches into private internals of dagster-dbt, dbt-duckdb and Dagster, for
what a run saves by it (the figures are in benchmarks/README.md). Each has a public path beside
it, taken when `FEEDBACK_PUBLIC_APIS_ONLY` is set, and `tests/python/test_public_apis.py` shows
that both give the same events and results. After an upgrade of the pinned versions, this is
the file to check.

- dbt in the run's own process (`build_in_process`) rather than a `dbt` process per build:
  the project is parsed once per process and both builds of a run reuse it. dagster-dbt turns
  dbt's events into Dagster's through its private event class, and the warehouse file dbt-duckdb
  keeps open is closed through its private class attributes.
- Dagster's SQLite event log with one connection per file kept open
  (`PooledSqliteEventLogStorage`) rather than an engine and a connection per event.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster_dbt import DagsterDbtTranslator
from dagster_dbt.asset_utils import get_updated_cli_invocation_params_for_context
from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage
from dagster_dbt.errors import DagsterDbtCliRuntimeError
from dbt.adapters.duckdb.connections import DuckDBConnectionManager
from dbt.cli.main import dbtRunner
from dbt_common.events.functions import msg_to_dict
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine

from feedback.core.settings import environment, public_apis_only

# The dbt project as parsed, per project folder: the models do not depend on the data folder
# (the warehouse is always `warehouse.duckdb`, so relation names are the same in every one).
_parsed: dict[str, Any] = {}
_parsing = threading.Lock()
_RESULTS = {"LogSeedResult", "LogModelResult", "LogSnapshotResult", "LogTestResult"}
# Whether a build succeeded, and each node's (resource type, name, status, message).
BuildOutcome = tuple[bool, list[tuple[str, str, str, str | None]]]


def build_in_process(
    context: dg.AssetExecutionContext,
    args: Sequence[str],
    project_dir: str,
    profiles_dir: str,
    target_path: Path,
    unset_while_parsing: str,
) -> Generator[Any, None, BuildOutcome]:
    """`dbt build ARGS` in this process over what the step selected, reported to Dagster as
    dagster-dbt reports a `dbt` process. Yields Dagster's events, and returns its outcome.
    `unset_while_parsing` names an environment variable that changes every day and must not
    make dbt parse the files that read it again."""
    # The selection of the step (a subset when started from the UI), as dagster-dbt makes it.
    params = get_updated_cli_invocation_params_for_context(context, {}, DagsterDbtTranslator())
    project = params.dbt_project
    project_dir = str(project.project_dir) if project else project_dir
    # No manifest.json and run_results.json in the data folder: Dagster records the results.
    common = [
        "--project-dir", project_dir,
        "--profiles-dir", profiles_dir,
        "--target-path", str(target_path),
        "--log-path", str(target_path),
        "--no-write-json",
    ]  # fmt: skip
    results: list[dict] = []

    def collect(event) -> None:
        if event.info.name in _RESULTS:
            results.append(msg_to_dict(event))

    command = ["build", *args, *params.selection_args, *common]
    if params.indirect_selection:
        command += ["--indirect-selection", params.indirect_selection]
    manifest = _manifest(project_dir, common, unset_while_parsing)
    runner = dbtRunner(manifest, callbacks=[collect])
    try:
        outcome = runner.invoke(command)
    finally:
        close_warehouse()
    for raw in results:
        yield from DbtCoreCliEventMessage(raw, {}).to_default_asset_events(
            manifest=params.manifest,
            dagster_dbt_translator=params.dagster_dbt_translator,
            context=context,
            target_path=target_path,
            project=project,
        )
    if outcome.exception is not None:
        raise DagsterDbtCliRuntimeError(
            description=f"dbt build failed: {outcome.exception} (dbt's log: {target_path}/dbt.log)"
        )
    return outcome.success, [
        (r.node.resource_type, r.node.name, str(r.status), r.message)
        for r in outcome.result.results
    ]


def _manifest(project_dir: str, common: list[str], unset_while_parsing: str):
    """The project parsed once per process (dbt's partial parsing under the first data
    folder's state)."""
    with _parsing:
        if project_dir not in _parsed:
            with environment(**{unset_while_parsing: None}):
                parsed = dbtRunner().invoke(["parse", "--quiet", *common])
            if not parsed.success:
                raise DagsterDbtCliRuntimeError(
                    description=f"dbt could not read the project: {parsed.exception}"
                )
            _parsed[project_dir] = parsed.result
        return _parsed[project_dir]


def close_warehouse() -> None:
    """Close the warehouse file dbt opened. dbt-duckdb keeps it open in the process for the next
    build, but the steps after this one attach it, compact it and copy it, and a run leaves it
    closed."""
    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
        DuckDBConnectionManager.close_all_connections()


def pooled_instance(home: Path) -> dg.DagsterInstance:
    """The instance in `home` (its dagster.yaml as written), writing its event log through
    `PooledSqliteEventLogStorage`: the files and folders of Dagster's default SQLite storage,
    unchanged, so the UI and the daemon read and write them with Dagster's own classes."""
    overrides = {
        "event_log_storage": {
            "module": __name__,
            "class": PooledSqliteEventLogStorage.__name__,
            "config": {"base_dir": str(home / "history" / "runs")},
        }
    }
    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home), overrides=overrides))


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log, keeping one connection per database file open.

    Dagster's class makes a new engine and connection for each write, and asks SQLite whether a
    table exists twice per check result. Here each file's engine and connection are made once
    and kept; what is written, and how (one transaction per event, SQLite's WAL with its default
    synchronisation), is Dagster's."""

    def __init__(self, *args, **kwargs) -> None:
        # Before Dagster's __init__, which already connects.
        self._engines: dict[str, Engine] = {}
        self._tables: dict[str, bool] = {}
        super().__init__(*args, **kwargs)

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engines.get(shard)
            if engine is None:
                engine = create_engine(
                    self.conn_string_for_shard(shard),
                    pool_size=1,
                    # Any thread may write, one at a time under the lock.
                    connect_args={
                        "timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
                        "check_same_thread": False,
                    },
                )
                self._engines[shard] = engine
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def has_table(self, table_name: str) -> bool:
        # Asked before every check result; a table, once there, stays.
        if not self._tables.get(table_name):
            self._tables[table_name] = super().has_table(table_name)
        return self._tables[table_name]

    def dispose(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()
        super().dispose()


def enabled() -> bool:
    """Whether a run takes these paths: unless `FEEDBACK_PUBLIC_APIS_ONLY` says yes."""
    return not public_apis_only()
