"""Headless Chromium (Debian's package) opens the running Dagster UI's asset graph and finds
every asset group; the screenshot is kept under test-artifacts/."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.orchestration.conftest import ROOT

ARTIFACTS = ROOT / "test-artifacts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail(
            "chromium is not installed: run .ci/install-chromium (make test and .ci/run "
            "do it); the browser test does not skip"
        )
    return path


def _browse(chromium: str, url: str, profile: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--window-size=1600,1000",
            "--virtual-time-budget=20000",
            *extra,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.timeout(300)
def test_the_asset_graph_in_the_browser(defs, dagster_home: Path, tmp_path: Path) -> None:
    chromium = _chromium()
    groups = sorted(
        {
            defs.resolve_asset_graph().get(k).group_name
            for k in defs.resolve_asset_graph().get_all_asset_keys()
        }
    )
    port = _free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    log = (tmp_path / "webserver.log").open("w")
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster-webserver"),
            "-w",
            "workspace.yaml",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:  # the server answers, and the code location has loaded
            try:
                body = requests.post(
                    f"{base}/graphql",
                    json={
                        "query": "{ workspaceOrError { "
                        "... on Workspace { locationEntries { loadStatus } } } }"
                    },
                    timeout=5,
                ).json()
                entries = body["data"]["workspaceOrError"]["locationEntries"]
                if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                    break
            except (requests.RequestException, KeyError, TypeError, ValueError):
                pass
            assert server.poll() is None, (tmp_path / "webserver.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the Dagster UI did not load in 120 s"
            time.sleep(1)

        url = f"{base}/asset-groups"
        profile = tmp_path / "chromium-profile"
        dom = _browse(chromium, url, profile, "--dump-dom")
        assert dom.returncode == 0, dom.stderr[-2000:]
        missing = [g for g in groups if g not in dom.stdout]
        assert not missing, f"groups not on the asset graph page: {missing}"

        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "dagster-asset-graph.png"
        shot.unlink(missing_ok=True)
        done = _browse(chromium, url, profile, f"--screenshot={shot}")
        assert done.returncode == 0, done.stderr[-2000:]
        assert shot.exists() and shot.stat().st_size > 10_000
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
