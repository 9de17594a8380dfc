"""dlt assets: one Dagster multi-asset per source system, one asset per dlt resource, keyed
``[raw_<system>, <table>]`` so the dbt sources (``meta.dagster.asset_key``) resolve onto them.

The asset *definitions* are built from each system's dlt source with placeholder settings: a
source only declares its resources when it is built (no request is sent), so the graph loads on
a machine with no credentials at all. The real connections are read when an asset runs, from
dlt's config and secrets (``sources.<system>.connections``) or from the JSON file named by
``CONFORM_CONNECTIONS_FILE``. A system with several connections (two NetSuite accounts, two
Dynamics environments) loads all of them into the same ``raw_<system>`` tables in one step.
"""

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dlt import DagsterDltResource, DagsterDltTranslator
from dagster_dlt.asset_decorator import build_dlt_asset_specs
from dagster_dlt.translator import DltResourceTranslatorData

from ingestion.common import (
    SYSTEMS,
    IngestionError,
    Metrics,
    connection_names,
    load_connections_file,
)
from ingestion.common import pipeline as dlt_pipeline_for
from ingestion.pipeline import RunReport, _record, root_cause, source_module

CONNECTIONS_FILE_ENV = "CONFORM_CONNECTIONS_FILE"
DATA_OWNER = "team:data-platform"
SYSTEM_LABELS = {
    "salesforce": "Salesforce (CRM)",
    "psa": "Kantata OX (PSA)",
    "netsuite": "NetSuite (ERP, small subsidiaries)",
    "dynamics": "Dynamics 365 Finance (ERP, large regions)",
    "stripe": "Stripe (payments)",
}
# the calls to external systems are retried by dlt per request (429/5xx, Retry-After); a step
# that still fails (a system down for minutes) is retried by Dagster with exponential back-off
INGEST_RETRY = dg.RetryPolicy(
    max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
WAREHOUSE_POOL = "warehouse"


def apply_connections_file() -> Path | None:
    """Export the connections JSON named by CONFORM_CONNECTIONS_FILE (if any) as dlt env vars.
    A missing file is not an error here: the assets say so when they run."""
    value = os.environ.get(CONNECTIONS_FILE_ENV)
    if not value:
        return None
    path = Path(value)
    if path.is_file():
        load_connections_file(path)
        return path
    return None


def configured_connections() -> dict[str, list[str]]:
    """{system: [connection, ...]} for every system with connections configured."""
    apply_connections_file()
    return {s: names for s in SYSTEMS if (names := connection_names(s))}


# -- specs ------------------------------------------------------------------------------------


@cache
def _placeholder_pem() -> str:
    """A throwaway EC key: the NetSuite source reads its key when built (never used to sign
    anything here, the spec source sends no request)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


_OPTIONAL_TYPED = {"page_size", "batch_size", "timezone", "legal_entities", "api_version"}


def spec_source(system: str) -> Any:
    """The system's dlt source built with placeholder settings: it lists the resources (the
    assets) without contacting anything."""
    module = source_module(system)
    settings: dict[str, Any] = {}
    for key in module.SETTINGS_KEYS:
        if key in _OPTIONAL_TYPED:
            continue
        settings[key] = "http://placeholder.invalid" if key.endswith("url") else "placeholder"
    if "private_key_path" in settings:
        settings["private_key_path"] = _placeholder_pem()
    return module.source("spec", settings, metrics=Metrics())


class ConformDltTranslator(DagsterDltTranslator):
    """Key ``[raw_<system>, <table>]``, group per source system, kind dlt, no upstream stub."""

    def __init__(self, system: str):
        self.system = system

    def get_asset_spec(self, data: DltResourceTranslatorData) -> dg.AssetSpec:
        spec = super().get_asset_spec(data)
        resource = data.resource
        table = resource.table_name if isinstance(resource.table_name, str) else resource.name
        label = SYSTEM_LABELS.get(self.system, self.system)
        description = (
            f"`raw_{self.system}.{table}`: the `{resource.name}` resource of the {label} source, "
            f"loaded by dlt from every configured {self.system} connection (merge on the "
            "primary key plus `_source_connection`; incremental where the API has a cursor)."
        )
        destination = os.environ.get("CONFORM_DESTINATION", "duckdb")
        return spec.replace_attributes(
            key=dg.AssetKey([f"raw_{self.system}", table]),
            deps=[],
            group_name=f"source_{self.system}",
            description=description,
            owners=[DATA_OWNER],
            kinds={"dlt", destination},
            tags={"conform/layer": "raw", "conform/system": self.system},
        )


class IngestConfig(dg.Config):
    """Run configuration of the dlt assets."""

    full_refresh: bool = False
    """Forget the incremental state and reload everything (the nightly reconciliation)."""


def _merge_metadata(into: dict[str, Any], connection: str, metadata: dict[str, Any]) -> None:
    rows = metadata.get("rows_loaded")
    rows = int(getattr(rows, "value", rows) or 0)
    into["rows_loaded"] = into.get("rows_loaded", 0) + rows
    into.setdefault("connections", []).append(connection)
    for key, value in metadata.items():
        if key not in ("rows_loaded", "jobs") and key not in into:
            into[key] = value


def build_dlt_assets(system: str) -> dg.AssetsDefinition:
    translator = ConformDltTranslator(system)
    module = source_module(system)
    specs = build_dlt_asset_specs(
        dlt_source=spec_source(system), dlt_pipeline=None, dagster_dlt_translator=translator
    )
    # the dlt objects dagster-dlt keeps in metadata are for its own `run()` fallback: this
    # asset passes the real source and pipeline explicitly, so keep the specs serialisable
    specs = [
        s.replace_attributes(
            metadata={k: v for k, v in s.metadata.items() if not k.startswith("dagster_dlt/")}
        )
        for s in specs
    ]

    @dg.multi_asset(
        name=f"dlt_{system}",
        specs=specs,
        can_subset=True,
        retry_policy=INGEST_RETRY,
        pool=WAREHOUSE_POOL,
        description=f"dlt ingestion of {SYSTEM_LABELS.get(system, system)} into raw_{system}.",
    )
    def _assets(
        context: dg.AssetExecutionContext, dlt: DagsterDltResource, config: IngestConfig
    ) -> Iterator[dg.MaterializeResult]:
        names = configured_connections().get(system, [])
        if not names:
            raise dg.Failure(
                description=(
                    f"no connections configured for {system}: set sources.{system}.connections "
                    f"in .dlt/config.toml (and its secrets), or {CONNECTIONS_FILE_ENV}="
                    "path/to/connections.json"
                ),
                allow_retries=False,
            )
        combined: dict[dg.AssetKey, dict[str, Any]] = {}
        for connection in names:
            context.log.info(
                f"{system}/{connection}: loading "
                f"{'(full refresh) ' if config.full_refresh else ''}..."
            )
            report = RunReport(system, connection, datetime.now(UTC).isoformat())
            metrics = Metrics()
            started = datetime.now(UTC)
            p = None
            try:
                settings = module.settings_for(connection)
                p = dlt_pipeline_for(system, connection)
                source = module.source(connection, settings, metrics=metrics)
                kwargs = {"refresh": "drop_sources"} if config.full_refresh else {}
                for result in dlt.run(
                    context=context,
                    dlt_source=source,
                    dlt_pipeline=p,
                    dagster_dlt_translator=translator,
                    **kwargs,
                ):
                    metadata = dict(result.metadata or {})
                    rows = metadata.get("rows_loaded")
                    report.rows[result.asset_key.path[-1]] = int(getattr(rows, "value", rows) or 0)
                    _merge_metadata(combined.setdefault(result.asset_key, {}), connection, metadata)
            except Exception as exc:  # noqa: BLE001 - reported with the source's own error
                cause = root_cause(exc)
                message = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
                if not isinstance(cause, IngestionError):
                    message = f"{type(cause).__name__}: {message}"
                report.status, report.error = "failed", message
                _finish(report, metrics, started, p)
                raise dg.Failure(description=f"{system}/{connection}: {message}") from exc
            _finish(report, metrics, started, p)
            context.log.info(
                f"{system}/{connection}: {report.rows_loaded:,} rows in "
                f"{report.duration_s:.1f}s ({report.requests} requests, {report.throttled} "
                f"throttled, {report.server_errors} server errors retried)"
            )
        for key, metadata in combined.items():
            metadata["connections"] = dg.MetadataValue.json(metadata["connections"])
            metadata["rows_loaded"] = dg.MetadataValue.int(metadata["rows_loaded"])
            yield dg.MaterializeResult(asset_key=key, metadata=metadata)

    return _assets


def _finish(report: RunReport, metrics: Metrics, started: datetime, p: Any) -> None:
    report.duration_s = round((datetime.now(UTC) - started).total_seconds(), 3)
    for key, value in metrics.as_dict().items():
        setattr(report, key, value)
    if p is not None:
        _record(p, report)  # raw_<system>._ingestion_runs, as `conform ingest` keeps it


def all_dlt_assets() -> list[dg.AssetsDefinition]:
    return [build_dlt_assets(system) for system in SYSTEMS]


def raw_asset_keys(system: str) -> list[dg.AssetKey]:
    translator = ConformDltTranslator(system)
    return [
        translator.get_asset_spec(DltResourceTranslatorData(resource=r, pipeline=None)).key
        for r in spec_source(system).selected_resources.values()
    ]


dlt_resource = DagsterDltResource()
