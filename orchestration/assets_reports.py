"""The BI copy of the marts and the executive report (package ``reports/``) as assets.

    marts/* (dbt, with their checks) + reference/utilization_targets
        ──▶ bi_warehouse      the published DuckDB copy (conform_bi.duckdb) BI tools open
        ──▶ executive_report  the HTML report (plus PNG and PDF) rendered from that copy

``bi_warehouse`` reads the live warehouse, so it runs in the ``warehouse`` pool (no writer at
the same time); it depends on every mart, so a failed blocking check on any mart skips it (and
the report) in that run, and the previous copy stays published. ``executive_report`` reads only
the published copy. Both follow their upstream eagerly, and the schedules' jobs include them.
On PostgreSQL there is no DuckDB copy to publish: BI tools connect as the ``bi_reader`` role
(dbt grants), and both assets record that they did nothing.
"""

import json
from pathlib import Path
from typing import Any

import dagster as dg

from ingestion.common import is_postgres
from orchestration.assets_dlt import WAREHOUSE_POOL

GROUP = "reports"
BI_KEY = dg.AssetKey("bi_warehouse")
REPORT_KEY = dg.AssetKey("executive_report")


def _upstream_keys(manifest_path: Path) -> list[dg.AssetKey]:
    """Every dbt model in the marts schema, and the seeds the report reads."""
    from reports.publish import REFERENCE_TABLES

    manifest = json.loads(manifest_path.read_text())
    keys = []
    for node in manifest.get("nodes", {}).values():
        kind, schema, name = node.get("resource_type"), node.get("schema"), node.get("name")
        if (kind == "model" and schema == "marts") or (
            kind == "seed" and schema == "reference" and name in REFERENCE_TABLES
        ):
            keys.append(dg.AssetKey([schema, name]))
    return sorted(keys, key=lambda k: k.path)


class ReportConfig(dg.Config):
    period: str | None = None  # a month like 2026-10; default: the last complete month
    formats: list[str] = ["png", "pdf"]


def build_report_assets(
    manifest_path: Path, gate: dg.AssetKey | None = None
) -> list[dg.AssetsDefinition]:
    upstream = _upstream_keys(manifest_path)
    if gate is not None:  # the data-quality gate (orchestration/assets_quality_gate.py)
        upstream = [*upstream, gate]

    @dg.asset(
        key=BI_KEY,
        deps=upstream,
        group_name=GROUP,
        kinds={"duckdb", "python"},
        owners=["team:data-platform"],
        tags={"conform/layer": "reports"},
        pool=WAREHOUSE_POOL,
        automation_condition=dg.AutomationCondition.eager(),
        description="The marts published to a separate DuckDB file for BI tools and the "
        "report (reports/publish.py): built under a temporary name and swapped in atomically, "
        "so a BI connection held open never blocks the pipeline's writer. Holds marts.*, "
        "reference.utilization_targets and the freshness and check results the report shows.",
    )
    def bi_warehouse(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        if is_postgres():
            context.log.info("PostgreSQL warehouse: BI tools connect as bi_reader; no copy")
            return dg.MaterializeResult(metadata={"published": False, "engine": "postgres"})
        from reports.publish import publish

        done = publish()
        context.log.info(f"published {done.mart_count} marts to {done.path} in {done.seconds}s")
        return dg.MaterializeResult(
            metadata={
                "published": True,
                "path": dg.MetadataValue.path(str(done.path)),
                "marts": dg.MetadataValue.int(done.mart_count),
                "rows": dg.MetadataValue.json(done.tables),
                "seconds": dg.MetadataValue.float(done.seconds),
                "published_at": dg.MetadataValue.timestamp(done.published_at),
            }
        )

    @dg.asset(
        key=REPORT_KEY,
        deps=[BI_KEY],
        group_name=GROUP,
        kinds={"plotly", "html", "pdf"},
        owners=["team:analytics-engineering"],
        tags={"conform/layer": "reports"},
        automation_condition=dg.AutomationCondition.eager(),
        description="The executive utilization, billing and collections report (reports/): "
        "one self-contained HTML file with charts, plus PNG and PDF for email, for the last "
        "complete month against the month before. Written to CONFORM_REPORTS_DIR "
        "(default build/reports). dbt exposure `executive_report`.",
    )
    def executive_report(
        context: dg.AssetExecutionContext, config: ReportConfig
    ) -> dg.MaterializeResult:
        if is_postgres():
            context.log.info("PostgreSQL warehouse: no published DuckDB copy to render from")
            return dg.MaterializeResult(metadata={"rendered": False, "engine": "postgres"})
        from reports.data import Period, load
        from reports.executive import reports_dir
        from reports.export import ExportError, export
        from reports.publish import bi_warehouse_path
        from reports.render import write_html

        data = load(bi_warehouse_path(), Period.parse(config.period) if config.period else None)
        html = write_html(data, reports_dir()).resolve()
        metadata: dict[str, Any] = {
            "report": dg.MetadataValue.url(html.as_uri()),
            "path": dg.MetadataValue.path(str(html)),
            "period": data.period.label,
            "as_of_date": str(data.as_of_date),
        }
        try:
            for kind, path in export(html, tuple(config.formats)).items():
                metadata[kind] = dg.MetadataValue.path(str(path.resolve()))
        except ExportError as exc:
            # the HTML is the report; a missing attachment is reported, not fatal
            context.log.warning(f"export failed: {exc}")
            metadata["export_error"] = str(exc)
        for h in data.headlines():
            if h.value is not None:
                metadata[h.metric] = dg.MetadataValue.float(float(h.value))
        context.log.info(f"executive report {data.period.label}: {html}")
        return dg.MaterializeResult(metadata=metadata)

    return [bi_warehouse, executive_report]
