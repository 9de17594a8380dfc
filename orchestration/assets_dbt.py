"""dbt assets: every model, seed and snapshot of dbt_project/ from its manifest, dbt tests as
asset checks (source tests attach to the dlt assets), grouped by layer, run with `dbt build`.

The manifest is prepared under `dagster dev` (`DbtProject.prepare_if_dev`) and by `dbt parse`
in tests and CI; when none exists at all (a fresh clone loading the definitions with
`dagster job execute -m ...`), it is parsed once here so the code location still loads.
"""

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from orchestration.assets_dlt import DATA_OWNER, WAREHOUSE_POOL
from orchestration.transform import DBT_DIR, _release_duckdb, dbt_environment

# folder under models/ (or marts/<area>) -> Dagster group
LAYER_GROUPS = ("staging", "intermediate", "core", "finance", "operations", "governance")
OWNERS = {
    "staging": "team:data-platform",
    "intermediate": "team:data-platform",
    "core": "team:analytics-engineering",
    "finance": "team:finance-operations",
    "operations": "team:delivery-operations",
    "governance": "team:data-stewards",
}


def dbt_executable() -> str:
    """dbt beside this interpreter (the venv's), so it is found without an activated venv."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else "dbt"


def parse_manifest() -> None:
    """`dbt parse`: writes dbt_project/target/manifest.json (no warehouse connection)."""
    subprocess.run(
        [
            dbt_executable(),
            "parse",
            "--quiet",
            "--project-dir",
            str(DBT_DIR),
            "--profiles-dir",
            str(DBT_DIR),
        ],
        env={**os.environ, **dbt_environment()},
        check=True,
    )


if shutil.which("dbt") is None:  # the venv not activated: dagster-dbt looks dbt up on PATH
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

INDIRECT_SELECTION = "DBT_INDIRECT_SELECTION"

# DBT_TARGET_PATH (dbt's own variable) moves the manifest and run artifacts elsewhere
dbt_project = DbtProject(
    project_dir=DBT_DIR,
    profiles_dir=DBT_DIR,
    target_path=Path(os.environ.get("DBT_TARGET_PATH", "target")),
)
dbt_project.prepare_if_dev()  # `dagster dev`: re-parse on every load, model edits show up
if not dbt_project.manifest_path.exists():  # a fresh clone: parse once so the location loads
    parse_manifest()


def layer_group(props: Mapping[str, Any]) -> str:
    """staging / intermediate / core / finance / operations / governance / ... from the
    resource's path: models/<layer>/... or models/marts/<area>/...; seeds are `reference`,
    snapshots `snapshots`."""
    resource_type = props.get("resource_type")
    if resource_type == "seed":
        return "reference"
    if resource_type == "snapshot":
        return "snapshots"
    fqn = list(props.get("fqn") or [])[1:-1]  # drop the project name and the model name
    if not fqn:
        return "models"
    if fqn[0] == "marts" and len(fqn) > 1:
        return fqn[1]
    if fqn[0] == "sync":  # the sync_* models feed the reverse sync
        return "reverse_sync"
    return fqn[0]


class ConformDbtTranslator(DagsterDbtTranslator):
    """Groups by layer, owners by group, a description on every asset, eager automation (what
    is downstream of a fresh source load follows it)."""

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props.get("resource_type") == "source":
            return spec  # the key resolves onto a dlt asset (meta.dagster.asset_key)
        group = layer_group(props)
        description = spec.description or (
            f"dbt {props.get('resource_type')} `{props.get('name')}` "
            f"({props.get('original_file_path', '')})"
        )
        owners = list(spec.owners or []) or [OWNERS.get(group, DATA_OWNER)]
        return spec.replace_attributes(
            group_name=group,
            description=description,
            owners=owners,
            automation_condition=dg.AutomationCondition.eager(),
        ).merge_attributes(tags={"conform/layer": group})


translator = ConformDbtTranslator(
    settings=DagsterDbtTranslatorSettings(
        enable_asset_checks=True,
        enable_source_tests_as_checks=True,
    )
)


class ConformDbtCliResource(DbtCliResource):
    """dbt CLI whose environment is the platform's one destination setting
    (``orchestration.transform.dbt_environment()``): the same warehouse and target as the
    ingestion and `conform transform`."""

    def cli(self, args: Any, **kwargs: Any) -> Any:
        env = dbt_environment()
        os.environ.update(env)
        if "CONFORM_WAREHOUSE" in env:  # seeds may build before any source created the file
            Path(env["CONFORM_WAREHOUSE"]).parent.mkdir(parents=True, exist_ok=True)
        # Dagster splits the dbt assets into several steps when a non-dbt asset (the customer
        # master) sits between dbt models; with dbt's default (eager) indirect selection a step
        # would run a relationship test whose other model a later step builds. `buildable` runs
        # a test in the step where all its parents exist. (dagster-dbt still overrides it when a
        # run selects checks explicitly.)
        previous = os.environ.get(INDIRECT_SELECTION)
        os.environ[INDIRECT_SELECTION] = previous or "buildable"
        try:
            return super().cli(args, **kwargs)
        finally:
            if previous is None:
                os.environ.pop(INDIRECT_SELECTION, None)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    name="dbt_conformed_model",
    pool=WAREHOUSE_POOL,
)
def conformed_model(context: dg.AssetExecutionContext, dbt: ConformDbtCliResource) -> Iterator[Any]:
    """`dbt build` of the selected models, seeds, snapshots and their tests."""
    try:
        yield from dbt.cli(["build"], context=context).stream()
    finally:
        _release_duckdb()


dbt_resource = ConformDbtCliResource(
    project_dir=dbt_project, profiles_dir=str(DBT_DIR), dbt_executable=dbt_executable()
)
