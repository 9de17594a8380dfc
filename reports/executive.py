"""The executive report, end to end: read the published BI copy, write the HTML, export it.

What the CLI (`conform report`) and the Dagster asset (`executive_report`) both call."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from reports.data import Period, ReportData, load
from reports.export import FORMATS, export
from reports.publish import bi_warehouse_path
from reports.render import write_html

DEFAULT_REPORTS_DIR = Path("build/reports")


def reports_dir() -> Path:
    """``CONFORM_REPORTS_DIR``, else ``build/reports``."""
    return Path(os.environ.get("CONFORM_REPORTS_DIR", str(DEFAULT_REPORTS_DIR)))


@dataclass
class ReportResult:
    html: Path
    data: ReportData
    exports: dict[str, Path] = field(default_factory=dict)


def build_report(
    period: str | Period | None = None,
    output: Path | None = None,
    formats: tuple[str, ...] = FORMATS,
    bi_path: Path | None = None,
) -> ReportResult:
    """Render the report for ``period`` (a month like ``2026-10``; default: the last complete
    month of the data) from the published copy into ``output`` (default: ``reports_dir()``),
    then export it to each of ``formats`` (png, pdf) with headless Chromium."""
    if isinstance(period, str):
        period = Period.parse(period)
    data = load(bi_path or bi_warehouse_path(), period)
    html = write_html(data, output or reports_dir())
    exports = export(html, formats) if formats else {}
    return ReportResult(html=html, data=data, exports=exports)
