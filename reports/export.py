"""PNG and PDF exports of the HTML report (for email), made with headless Chromium.

Chromium is Debian's ``chromium`` package (``.ci/install-chromium``), found on PATH or through
``CONFORM_CHROMIUM``. The PDF is Chromium's print (A4 landscape, the page's own print CSS); the
PNG is a screenshot of the whole page: a first pass reads the page height the report writes
into its DOM once its charts are drawn, the second takes the screenshot at that height.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

WIDTH = 1100
TIMEOUT_S = 180
FORMATS = ("png", "pdf")


class ExportError(RuntimeError):
    """Chromium is missing or failed."""


def find_chromium() -> str | None:
    override = os.environ.get("CONFORM_CHROMIUM")
    if override:
        return override
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run(chromium: str, url: str, *extra: str, size: tuple[int, int] = (WIDTH, 1000)) -> str:
    with tempfile.TemporaryDirectory(prefix="conform-chromium-") as profile:
        done = subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--window-size={size[0]},{size[1]}",
                "--virtual-time-budget=15000",
                *extra,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )
    if done.returncode != 0:
        raise ExportError(f"chromium exited {done.returncode}: {done.stderr.strip()[-1500:]}")
    return done.stdout


def dump_dom(html: Path, chromium: str | None = None) -> str:
    """The DOM after the page's scripts ran (charts drawn)."""
    chromium = chromium or find_chromium()
    if not chromium:
        raise ExportError("chromium is not installed: run .ci/install-chromium")
    return _run(chromium, html.resolve().as_uri(), "--dump-dom")


def page_height(dom: str) -> int:
    match = re.search(r'data-page-height="(\d+)"', dom)
    if not match:
        raise ExportError("the report did not finish loading in Chromium (no page height)")
    return int(match.group(1))


def export(html: Path, formats: tuple[str, ...] = FORMATS) -> dict[str, Path]:
    """Write ``<report>.png`` and/or ``<report>.pdf`` beside the HTML file."""
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ExportError(f"unknown export format(s) {sorted(unknown)}; known: {FORMATS}")
    chromium = find_chromium()
    if not chromium:
        raise ExportError(
            "chromium is not installed (Debian: .ci/install-chromium, or set CONFORM_CHROMIUM); "
            "the HTML report was written, the PNG/PDF export was not"
        )
    url = html.resolve().as_uri()
    written: dict[str, Path] = {}
    if "pdf" in formats:
        pdf = html.with_suffix(".pdf")
        _run(chromium, url, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
        written["pdf"] = pdf
    if "png" in formats:
        png = html.with_suffix(".png")
        height = page_height(dump_dom(html, chromium))
        _run(chromium, url, f"--screenshot={png}", size=(WIDTH, height + 20))
        written["png"] = png
    for kind, path in written.items():
        if not path.exists() or path.stat().st_size == 0:
            raise ExportError(f"chromium wrote no {kind} at {path}")
    return written
