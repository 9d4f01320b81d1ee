"""dbt-duckdb plugin: makes sure the source tables exist before dbt reads them."""

from pathlib import Path

from dbt.adapters.duckdb.plugins import BasePlugin

from feedback.core.warehouse import ensure_schema


class Plugin(BasePlugin):
    def initialize(self, plugin_config):
        if self.creds is not None and self.creds.path not in (None, "", ":memory:"):
            Path(self.creds.path).parent.mkdir(parents=True, exist_ok=True)

    def configure_connection(self, conn):
        ensure_schema(conn)
