"""The one persistent Dagster instance of a data folder: `feedback run`, `feedback ui` (`make ui`)
and the schedules it runs all record their runs there, so the UI shows every run, its
per-asset counts, its failures and the schedules' ticks.
"""

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import yaml
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine

from orchestration.project import REPO_ROOT

# Settings that choose the instance's storage: when dagster.yaml has one, it is used as written.
_STORAGE_SETTINGS = ("storage", "run_storage", "event_log_storage", "schedule_storage")


def dagster_home(data_dir: Path) -> Path:
    """`$DAGSTER_HOME` when set, else `dagster/` in the data folder; made, with the project's
    `dagster.yaml` (telemetry off, one run at a time), when it does not exist yet."""
    home = Path(os.environ.get("DAGSTER_HOME") or data_dir / "dagster").resolve()
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copyfile(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    return home


def dagster_instance(data_dir: Path) -> dg.DagsterInstance:
    """The data folder's instance, writing its event log through `PooledSqliteEventLogStorage`
    unless its dagster.yaml chooses a storage of its own."""
    home = dagster_home(data_dir)
    overrides = {}
    if not set(_STORAGE_SETTINGS) & set(yaml.safe_load((home / "dagster.yaml").read_text()) or {}):
        # The files and folders of Dagster's default SQLite storage, unchanged: the UI and the
        # daemon read and write the same ones with Dagster's own classes.
        overrides["event_log_storage"] = {
            "module": __name__,
            "class": PooledSqliteEventLogStorage.__name__,
            "config": {"base_dir": str(home / "history" / "runs")},
        }
    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home), overrides=overrides))


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log, keeping one connection per database file open.

    A run stores about 280 events (a materialization per dbt model, a check result per data
    test). Dagster's class makes a new engine and connection for each write, and asks SQLite
    whether a table exists twice per check result: about 10 ms an event, 2.5 s of a daily run.
    Here each file's engine and connection are made once and kept; what is written, and how
    (one transaction per event, SQLite's WAL with its default synchronisation), is Dagster's."""

    def __init__(self, *args, **kwargs) -> None:
        # Before Dagster's __init__, which already connects.
        self._engines: dict[str, Engine] = {}
        self._tables: dict[str, bool] = {}
        super().__init__(*args, **kwargs)

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> "PooledSqliteEventLogStorage":
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
