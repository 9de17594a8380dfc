"""The orchestration fixtures (a fresh dbt manifest, the Definitions) for the asset tests."""

from tests.orchestration.conftest import dbt_manifest, definitions_module, defs  # noqa: F401
