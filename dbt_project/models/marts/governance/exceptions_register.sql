{{ config(
    materialized='incremental',
    unique_key='exception_id',
    on_schema_change='append_new_columns',
) }}
-- The exception register: every exception ever detected, one row per exception_id (a hash of
-- kind and object key, stable across runs), with its state across runs. Each build (the
-- nightly job's plain `dbt build` included) merges what the int_exceptions__<area> models
-- detect now: a new exception opens with first_seen_at = this run; one seen again keeps its
-- first_seen_at (and reopens if it had been resolved); an open one no longer detected is marked
-- resolved at this run, keeping its last_seen_at. The exceptions_<area> marts read this table.
{% set areas = ['customers', 'projects', 'time', 'status', 'tax_currency', 'ingestion',
                'reverse_sync', 'reconciliation'] %}
{% set run_at = governance_run_at() %}

with detected as (
    {% for area in areas %}
    select * from {{ ref('int_exceptions__' ~ area) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

previous as (
    -- the register as the last build left it (nothing on the first build)
    {% if is_incremental() %}
    select * from {{ this }}
    {% else %}
    select
        exception_id,
        exception_area,
        exception_kind,
        severity,
        object_type,
        object_key,
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
    from (
        select
            cast(null as {{ dbt.type_string() }}) as exception_id,
            cast(null as {{ dbt.type_string() }}) as exception_area,
            cast(null as {{ dbt.type_string() }}) as exception_kind,
            cast(null as {{ dbt.type_string() }}) as severity,
            cast(null as {{ dbt.type_string() }}) as object_type,
            cast(null as {{ dbt.type_string() }}) as object_key,
            cast(null as {{ dbt.type_string() }}) as canonical_id,
            cast(null as {{ dbt.type_string() }}) as source_system,
            cast(null as {{ dbt.type_string() }}) as source_connection,
            cast(null as {{ dbt.type_string() }}) as source_id,
            cast(null as {{ dbt.type_string() }}) as owner_system,
            cast(null as {{ dbt.type_string() }}) as legal_entity_code,
            cast(null as {{ dbt.type_string() }}) as reason,
            cast(null as numeric(18, 2)) as amount_at_risk,
            cast(null as {{ dbt.type_string() }}) as correlation_id,
            cast(null as timestamp) as first_seen_at,
            cast(null as timestamp) as last_seen_at,
            cast(null as {{ dbt.type_string() }}) as status,
            cast(null as timestamp) as resolved_at
    ) as no_rows
    where 1 = 0
    {% endif %}
)

select
    detected.exception_id,
    detected.exception_area,
    detected.exception_kind,
    detected.severity,
    detected.object_type,
    detected.object_key,
    detected.canonical_id,
    detected.source_system,
    detected.source_connection,
    detected.source_id,
    detected.owner_system,
    detected.legal_entity_code,
    detected.reason,
    detected.amount_at_risk,
    detected.correlation_id,
    coalesce(previous.first_seen_at, {{ run_at }}) as first_seen_at,
    {{ run_at }} as last_seen_at,
    cast('open' as {{ dbt.type_string() }}) as status,
    cast(null as timestamp) as resolved_at
from detected
left join previous on previous.exception_id = detected.exception_id

union all

select
    previous.exception_id,
    previous.exception_area,
    previous.exception_kind,
    previous.severity,
    previous.object_type,
    previous.object_key,
    previous.canonical_id,
    previous.source_system,
    previous.source_connection,
    previous.source_id,
    previous.owner_system,
    previous.legal_entity_code,
    previous.reason,
    previous.amount_at_risk,
    previous.correlation_id,
    previous.first_seen_at,
    previous.last_seen_at,
    cast('resolved' as {{ dbt.type_string() }}) as status,
    {{ run_at }} as resolved_at
from previous
where previous.status = 'open'
    and not exists (
        select detected.exception_id from detected
        where detected.exception_id = previous.exception_id
    )
