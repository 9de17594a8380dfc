"""The suites read from and write to PostgreSQL when CONFORM_DESTINATION=postgres (a real
server): typed values (numeric, timestamptz) arrive in the same shape as from DuckDB."""

from __future__ import annotations

import psycopg2
import pytest

from expectations.runner import run_suites
from expectations.suites import select


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_a_suite_on_postgres(postgres_uri: str, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("CONFORM_DESTINATION", "postgres")
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", postgres_uri)
    monkeypatch.setenv("CONFORM_DATA_DOCS_DIR", str(tmp_path / "docs"))
    con = psycopg2.connect(postgres_uri)
    with con, con.cursor() as cur:
        cur.execute("drop schema if exists raw_stripe cascade")
        cur.execute("drop schema if exists data_quality cascade")
        cur.execute("create schema raw_stripe")
        cur.execute(
            "create table raw_stripe.charges (id varchar, _source_connection varchar, "
            "amount_major numeric(38,9), amount_captured_major numeric(38,9), "
            "amount_refunded_major numeric(38,9), currency varchar, status varchar, "
            "paid boolean, created timestamptz, payment_intent varchar)"
        )
        cur.execute(
            "insert into raw_stripe.charges values "
            "('ch_1', 'stripe', 100.5, 100.5, 0, 'USD', 'succeeded', true, "
            "'2026-05-01 10:00:00+02', null), "
            "('ch_2', 'stripe', 20, 20, 0, 'USA', 'succeeded', true, '2026-06-01 00:00:00+00', "
            "null), "
            "('ch_3', 'stripe', -5, 0, 0, 'EUR', 'failed', false, '1999-12-31 23:00:00+00', null)"
        )
    con.close()

    [result], index = run_suites(select(["raw_stripe.charges"]))
    failed = {o.expectation: o for o in result.outcomes if not o.success}
    assert set(failed) == {
        "expect_column_values_to_be_in_set(currency)",
        "expect_column_values_to_be_between(amount_major)",
        "expect_column_values_to_be_between(created)",
    }
    assert failed["expect_column_values_to_be_in_set(currency)"].details[
        "partial_unexpected_index_list"
    ] == [{"currency": "USA", "id": "ch_2", "_source_connection": "stripe"}]
    assert failed["expect_column_values_to_be_between(amount_major)"].unexpected_count == 1
    assert index is not None and index.is_file()

    con = psycopg2.connect(postgres_uri)
    try:
        with con.cursor() as cur:
            cur.execute(
                "select expectation, severity from data_quality.check_results "
                "where suite = 'raw_stripe.charges' and not success order by 1"
            )
            rows = cur.fetchall()
    finally:
        con.close()
    assert rows == sorted((name, "blocking") for name in failed)
