"""The dbt project as two builds around the sender: the rules before, the marts after.

Staging and intermediate models decide who is due, what has expired and each quarter's figure;
the marts and audit views are built after sending, masking and publishing.
"""

import os
from collections.abc import Mapping
from datetime import date
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, dbt_assets

from feedback.core.progress import log
from feedback.core.settings import environment
from orchestration.dbt_runner import RUN_DATE_VARIABLE, DbtBuild
from orchestration.project import dbt_project
from orchestration.resources import RunDate, settings

MASKING_KEY = dg.AssetKey(["privacy", "personal_data_masking"])
PUBLICATION_KEY = dg.AssetKey(["public", "klanttevredenheid"])
# Built after sending, masking and publishing: they show today's invitations, no expired
# personal data, and the publication this run recorded.
AFTER_THE_RUN_FOLDERS = {"marts", "audit"}
# Runs build the models and the data tests of what leaves the warehouse; the tests of how the
# staging, rules and audit views are written run in `make test` (see dbt_project.yml).
PRODUCTION_EXCLUDES = "tag:development_only"


class FeedbackTranslator(DagsterDbtTranslator):
    """Asset keys are `[schema, name]`. The asset group is the dbt folder: a layer (staging,
    marts, audit), or for the rules the domain folder under intermediate/ (invitations,
    privacy, publishing), the group of the Python steps that act on them."""

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        spec = spec.replace_attributes(key=dg.AssetKey([props["schema"], props["name"]]))
        if props["resource_type"] == "source":
            return spec
        spec = spec.replace_attributes(group_name=_group(props))
        if props["fqn"][1] in AFTER_THE_RUN_FOLDERS:
            spec = spec.merge_attributes(deps=[MASKING_KEY, PUBLICATION_KEY])
        return spec


def _group(props: Mapping[str, Any]) -> str:
    if props["resource_type"] != "model":
        return "reference"
    folders = props["fqn"][1:-1]
    return folders[1] if folders[0] == "intermediate" else folders[0]


translator = FeedbackTranslator()


def _build(context: dg.AssetExecutionContext, dbt: DbtBuild, run_date: date):
    data_dir = settings().data_dir
    # The profile names the warehouse by the data folder: the absolute one this process means.
    os.environ["FEEDBACK_DATA_DIR"] = str(data_dir)
    # The run date goes in the environment, not in --vars: a var that changes every day makes
    # dbt parse the whole project again; the environment variable is set only for the build.
    # dbt's state (its partial parse, compiled SQL and log) stays with the data folder, whose
    # lock keeps one run at a time on it.
    with environment(**{RUN_DATE_VARIABLE: run_date.isoformat()}):
        # Models and the data tests that guard what leaves the warehouse; unit tests run in
        # `make test`.
        yield from dbt.build(
            context, ["--exclude-resource-type", "unit_test"], target_path=data_dir / "dbt"
        )


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select="path:seeds path:models/staging path:models/intermediate",
    exclude=PRODUCTION_EXCLUDES,
    dagster_dbt_translator=translator,
    name="dbt_rules",
)
def dbt_rules(context: dg.AssetExecutionContext, dbt: DbtBuild, run_date: RunDate):
    """Seeds, staging and the rules: who is due on D, what has expired. Over a range they are
    built for its last date, as the marts read them; the sender and the masking step ask the
    rules' views for each date in turn."""
    log.info("dbt: building the rules (staging and intermediate) for %s", run_date.last())
    yield from _build(context, dbt, run_date.last())


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select="path:models/marts path:models/audit",
    exclude=PRODUCTION_EXCLUDES,
    dagster_dbt_translator=translator,
    name="dbt_marts",
)
def dbt_marts(context: dg.AssetExecutionContext, dbt: DbtBuild, run_date: RunDate):
    """The marts BI tools read and the audit views, from sent and masked data, as of the
    (last) run date."""
    log.info("dbt: building the marts and audit views for %s", run_date.last())
    yield from _build(context, dbt, run_date.last())
