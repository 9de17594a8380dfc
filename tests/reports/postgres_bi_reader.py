"""The PostgreSQL BI role, checked on a warehouse that `dbt build` just built on PostgreSQL.

Called from tests/dbt/test_postgres_target.py, which builds the whole pipeline on PostgreSQL
once (building it a second time here would double the slowest test of the suite)."""

from __future__ import annotations

import uuid

import psycopg2
import psycopg2.errors
import pytest


def assert_bi_reader_reads_marts_only(database: str, host: str) -> None:
    """An analyst's login in role bi_reader can select every mart, cannot read any other
    schema, and cannot write anything; the marts' columns carry their descriptions."""
    admin = psycopg2.connect(dbname=database, host=host, user="postgres")
    admin.autocommit = True
    login = f"analyst_{uuid.uuid4().hex[:8]}"
    try:
        cur = admin.cursor()
        cur.execute("select rolcanlogin from pg_roles where rolname = 'bi_reader'")
        assert cur.fetchall() == [(False,)], "dbt's on-run-start hook creates bi_reader (NOLOGIN)"
        cur.execute(f"create role {login} login in role bi_reader")
        cur.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema not in ('pg_catalog', 'information_schema') "
            "and table_type = 'BASE TABLE' order by 1, 2"
        )
        tables = cur.fetchall()
        marts = [t for s, t in tables if s == "marts"]
        others = {}
        for schema, table in tables:
            if schema != "marts":
                others.setdefault(schema, table)
        assert {"staging", "intermediate", "reference"} <= {s for s, _ in tables} | set(_views(cur))
        assert any(s.startswith("raw_") for s in others), others
        cur.execute(
            "select col_description('marts.rpt_dso'::regclass, attnum) from pg_attribute "
            "where attrelid = 'marts.rpt_dso'::regclass and attname = 'dso_days'"
        )
        assert cur.fetchone()[0] == "Days sales outstanding."
        cur.execute("select obj_description('marts.rpt_utilization'::regclass, 'pg_class')")
        assert "billable_utilization" in (cur.fetchone()[0] or "")

        analyst = psycopg2.connect(dbname=database, host=host, user=login)
        analyst.autocommit = True
        try:
            a = analyst.cursor()
            for table in marts:
                a.execute(f"select count(*) from marts.{table}")
                a.fetchone()
            a.execute("select count(*) from marts.rpt_utilization")
            assert a.fetchone()[0] > 0
            for schema, table in sorted(others.items()) + [
                (v.split(".")[0], v.split(".")[1]) for v in _views(cur).values()
            ]:
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    a.execute(f'select * from "{schema}"."{table}" limit 1')
            for statement in (
                "insert into marts.dim_date (date_day) values (date '1999-01-01')",
                "update marts.dim_legal_entity set legal_entity_name = 'x'",
                "delete from marts.rpt_dso",
                "truncate marts.rpt_dso",
                "drop table marts.rpt_dso",
                "create table marts.mine (id integer)",
                "create view marts.mine as select 1 as id",
                "alter table marts.rpt_dso add column x integer",
                "create table public.mine (id integer)",
                "create schema mine",
            ):
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    a.execute(statement)
        finally:
            analyst.close()
    finally:
        admin.cursor().execute(f"drop role if exists {login}")
        admin.close()


def _views(cur) -> dict[str, str]:
    """One view per non-marts schema that holds views (staging and intermediate are views)."""
    cur.execute(
        "select table_schema, min(table_name) from information_schema.views "
        "where table_schema not in ('pg_catalog', 'information_schema', 'marts') group by 1"
    )
    return {schema: f"{schema}.{name}" for schema, name in cur.fetchall()}
