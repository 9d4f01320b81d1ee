"""The `feedback` command: `run`, `demo` and `ui`, doors onto the Dagster asset graph."""
