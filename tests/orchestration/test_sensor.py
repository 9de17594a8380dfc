"""The change sensor against a running simulator: no run while nothing changes, a run of the
changed systems' dlt assets only after `conform simulator advance` (POST /advance)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import dagster as dg
import pytest
import requests

from orchestration.assets_dlt import raw_asset_keys
from orchestration.sensors import source_change_sensor


@pytest.fixture
def clean_sources_env() -> Iterator[None]:
    before = dict(os.environ)
    yield
    for key in set(os.environ) - set(before):
        del os.environ[key]
    os.environ.update(before)


def evaluate(
    defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None
) -> dg.SensorResult:
    context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
    result = source_change_sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


@pytest.mark.integration
@pytest.mark.timeout(180)
def test_sensor_launches_only_after_a_change(
    defs, simulator_factory, isolated_env, clean_sources_env, monkeypatch
) -> None:
    sim = simulator_factory(scale="tiny")
    monkeypatch.setenv("CONFORM_CONNECTIONS_FILE", str(sim.connections_file))
    instance = dg.DagsterInstance.ephemeral()

    first = evaluate(defs, instance, None)  # where the systems stand: nothing to do yet
    assert not first.run_requests
    cursors = json.loads(first.cursor)
    assert set(cursors) == {
        "psa/psa",
        "stripe/stripe",
        "netsuite/apac",
        "netsuite/europe",
        "dynamics/na",
        "dynamics/emea",
    }

    again = evaluate(defs, instance, first.cursor)  # nothing changed in between
    assert not again.run_requests
    assert again.cursor == first.cursor

    response = requests.post(f"{sim.control_url}/advance", json={"days": 10}, timeout=120)
    response.raise_for_status()

    after = evaluate(defs, instance, again.cursor)
    requested = {r.tags["conform/system"]: r for r in after.run_requests}
    assert set(requested) == {"psa", "stripe", "netsuite", "dynamics"}, after.skip_reason
    for system, request in requested.items():
        # only the changed system's dlt assets: declarative automation does the rest
        assert set(request.asset_selection) == set(raw_asset_keys(system))
    assert after.cursor != again.cursor

    settled = evaluate(defs, instance, after.cursor)  # the change is seen once
    assert not settled.run_requests
