{#- Governance helpers: the exception queues' shared shape, the business date they are judged
    at, and tables other tools write that may not exist yet. -#}

{#- A table written outside dbt (ingestion quarantine, reverse-sync dead letters): its columns
    when it exists, else an empty row set with the same names and types, so the governance
    marts build on a warehouse that has never quarantined or dead-lettered anything.
    columns: list of (name, sql type). -#}
{% macro relation_or_empty(schema, identifier, columns) -%}
    {%- set found = none -%}
    {%- if execute -%}
        {%- set found = adapter.get_relation(database=target.database, schema=schema,
                                              identifier=identifier) -%}
    {%- endif -%}
    {%- if found is not none -%}
    select
        {%- for name, data_type in columns %}
        cast({{ adapter.quote(name) }} as {{ data_type }}) as {{ adapter.quote(name) }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ found }}
    {%- else -%}
    -- {{ schema }}.{{ identifier }} does not exist yet
    select
        {%- for name, data_type in columns %}
        cast(null as {{ data_type }}) as {{ adapter.quote(name) }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    where 1 = 0
    {%- endif -%}
{%- endmacro %}


{#- The business date exceptions are judged at: var as_of_date, else the latest day with
    activity in the sources (time entries, ERP invoices, payments). Run-time clocks would judge
    a replayed or late-loaded warehouse by the wrong day. -#}
{% macro governance_as_of_date() -%}
    {%- set as_of = var('as_of_date', none) -%}
    {%- if as_of -%}
    select cast('{{ as_of }}' as date) as as_of_date
    {%- else -%}
    select max(days.d) as as_of_date
    from (
        select cast(max(modified_at) as date) as d from {{ ref('int_time_entries__psa') }}
        union all
        select max(invoice_date) as d from {{ ref('int_invoices') }}
        union all
        select max(payment_date) as d from {{ ref('int_payments') }}
    ) as days
    {%- endif -%}
{%- endmacro %}


{#- The detection columns every int_exceptions__<area> model returns (before state): the
    shared shape of contracts.md less exception_id and the first/last seen, status columns. -#}
{% macro governance_detection_columns() -%}
    {{ return([
        ('exception_kind', dbt.type_string()),
        ('severity', dbt.type_string()),
        ('object_type', dbt.type_string()),
        ('object_key', dbt.type_string()),
        ('canonical_id', dbt.type_string()),
        ('source_system', dbt.type_string()),
        ('source_connection', dbt.type_string()),
        ('source_id', dbt.type_string()),
        ('owner_system', dbt.type_string()),
        ('legal_entity_code', dbt.type_string()),
        ('reason', dbt.type_string()),
        ('amount_at_risk', 'numeric(18, 2)'),
        ('correlation_id', dbt.type_string()),
    ]) }}
{%- endmacro %}


{#- Select the detection columns from a CTE, typed, with the exception area. object_key is what
    identifies the object within its kind; the stable exception_id is a hash of kind and key. -#}
{% macro governance_detected(cte, area) -%}
    select
        cast({{ dbt.hash(dbt.concat(['exception_kind', "'|'", 'object_key'])) }} as {{ dbt.type_string() }}) as exception_id,
        cast('{{ area }}' as {{ dbt.type_string() }}) as exception_area,
        {%- for name, data_type in governance_detection_columns() %}
        cast({{ name }} as {{ data_type }}) as {{ name }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ cte }}
{%- endmacro %}


{#- correlation_id: the source record and the latest dlt load of the connection that holds it,
    `<system>/<connection>/<object>/<id>@<load id>` (loads: int_governance_loads). -#}
{% macro governance_correlation(system, connection, object, source_id, load_id) -%}
    {{ dbt.concat([system, "'/'", connection, "'/'", object, "'/'", source_id, "'@'",
                   "coalesce(" ~ load_id ~ ", 'unloaded')"]) }}
{%- endmacro %}


{#- An exceptions_<area> mart: its rows of the exception register, in the shared shape. -#}
{% macro governance_area_mart(area) -%}
select
    exception_id,
    exception_kind,
    severity,
    object_type,
    canonical_id,
    source_system,
    source_connection,
    source_id,
    owner_system,
    legal_entity_code,
    reason,
    amount_at_risk,
    correlation_id,
    first_seen_at,
    last_seen_at,
    status,
    resolved_at
from {{ ref('exceptions_register') }}
where exception_area = '{{ area }}'
{%- endmacro %}


{#- The timestamp (UTC, no zone) of this dbt invocation: first/last seen and resolved times. The
    fallback only serves sqlfluff's jinja templater, which has no run_started_at. -#}
{% macro governance_run_at() -%}
    {%- if run_started_at is defined -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp)
    {%- else -%}
    cast(current_timestamp as timestamp)
    {%- endif -%}
{%- endmacro %}
