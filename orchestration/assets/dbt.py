"""The dbt project as two asset groups around the sender: the rules before, the marts after.

Staging and intermediate models decide who is due and what has expired; the marts and audit
views are built after sending and masking, so they show today's invitations and no expired
personal data.
"""

import json
import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from orchestration.project import dbt_project
from orchestration.resources import RunDate, settings

MASKING_KEY = dg.AssetKey(["privacy", "personal_data_masking"])
AFTER_MASKING_FOLDERS = {"marts", "audit"}


class FeedbackTranslator(DagsterDbtTranslator):
    """Asset keys are `[schema, name]`; the dbt folder is the asset group."""

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        folder = props["fqn"][1] if props["resource_type"] == "model" else "reference"
        spec = spec.replace_attributes(key=dg.AssetKey([props["schema"], props["name"]]))
        if props["resource_type"] == "source":
            return spec
        spec = spec.replace_attributes(group_name=folder)
        if folder in AFTER_MASKING_FOLDERS:
            spec = spec.merge_attributes(deps=[MASKING_KEY])
        return spec


translator = FeedbackTranslator()


def _build(context: dg.AssetExecutionContext, dbt: DbtCliResource, run_date: RunDate):
    # dbt runs in the project folder: give it the data folder resolved from this process's
    # working directory, so a relative FEEDBACK_DATA_DIR means the same folder to both.
    os.environ["FEEDBACK_DATA_DIR"] = str(settings().data_dir)
    # Models and the data tests that guard them; the unit tests of the rules run in `make test`.
    args = [
        "build",
        "--exclude-resource-type",
        "unit_test",
        "--vars",
        json.dumps({"as_of": run_date.date().isoformat()}),
    ]
    # One target folder per run: the marts' build reuses the rules' parse of the same vars and
    # profile (dbt parses the project again when either changes).
    target = dbt_project.target_path / f"run-{context.run.run_id[:8]}"
    yield from dbt.cli(args, context=context, target_path=target).stream()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select="path:seeds path:models/staging path:models/intermediate",
    dagster_dbt_translator=translator,
    name="dbt_rules",
)
def dbt_rules(context: dg.AssetExecutionContext, dbt: DbtCliResource, run_date: RunDate):
    """Seeds, staging and the rules: who is due on D, what has expired."""
    yield from _build(context, dbt, run_date)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select="path:models/marts path:models/audit",
    dagster_dbt_translator=translator,
    name="dbt_marts",
)
def dbt_marts(context: dg.AssetExecutionContext, dbt: DbtCliResource, run_date: RunDate):
    """The marts BI tools read and the audit views, from sent and masked data."""
    yield from _build(context, dbt, run_date)
