"""Dagster definitions for the feedback warehouse: one asset graph per run date."""
