{#- Read-only BI access to the marts on PostgreSQL.

    Every mart grants `select` to the role bi_reader (dbt `grants`, set for the marts folder in
    dbt_project.yml, PostgreSQL only). This on-run-start hook creates the role when it is
    missing (NOLOGIN: grant it to the analysts' own logins) and lets it use the marts schema;
    it grants nothing else, so raw_*, staging, intermediate and the other schemas stay closed,
    and the role can create or change nothing. The dbt user needs CREATEROLE the first time,
    or an administrator creates the role beforehand.

    DuckDB has no roles: there BI tools read the published copy of the marts
    (reports/publish.py), and this hook compiles to nothing. -#}
{% macro bi_reader_setup(role='bi_reader') %}
    {%- if target.type == 'postgres' -%}
        {%- set marts_schema = generate_schema_name('marts', none) -%}
        do $bi_reader$
        begin
            if not exists (select 1 from pg_roles where rolname = '{{ role }}') then
                create role {{ role }} nologin;
            end if;
        exception
            -- another run created it between the check and the create
            when duplicate_object or unique_violation then null;
        end
        $bi_reader$;
        {%- if adapter.check_schema_exists(target.database, marts_schema) %}
        grant usage on schema {{ adapter.quote(marts_schema) }} to {{ role }};
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
