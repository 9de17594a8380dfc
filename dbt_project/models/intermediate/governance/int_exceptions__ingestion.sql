-- Records ingestion could not type: every row of each raw_<system>._quarantine table (written by
-- ingestion/ with the reason; absent until a record is quarantined). The marts miss these
-- records until the source fixes them. correlation_id names the very load that quarantined it.
-- each system's staging (so its load, which writes these tables, runs first):
-- depends_on: {{ ref('stg_salesforce__account') }}
-- depends_on: {{ ref('stg_psa__time_entries') }}
-- depends_on: {{ ref('stg_netsuite__transaction') }}
-- depends_on: {{ ref('stg_dynamics__customers_v3') }}
-- depends_on: {{ ref('stg_stripe__charges') }}
with quarantined as (
    {% for system in ['salesforce', 'psa', 'netsuite', 'dynamics', 'stripe'] %}
    select
        cast('{{ system }}' as {{ dbt.type_string() }}) as system_name,
        q.*
    from (
        {{ relation_or_empty('raw_' ~ system, '_quarantine', [
            ('_source_connection', dbt.type_string()),
            ('object', dbt.type_string()),
            ('record_key', dbt.type_string()),
            ('reason', dbt.type_string()),
            ('_dlt_load_id', dbt.type_string())]) }}
    ) as q
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

detected as (
    select
        'quarantined_record' as exception_kind,
        'high' as severity,
        object as object_type,
        {{ dbt.concat(['system_name', "'|'", '_source_connection', "'|'", 'object', "'|'", 'record_key']) }}
            as object_key,
        cast(null as {{ dbt.type_string() }}) as canonical_id,
        system_name as source_system,
        _source_connection as source_connection,
        record_key as source_id,
        system_name as owner_system,
        cast(null as {{ dbt.type_string() }}) as legal_entity_code,
        {{ dbt.concat([
            'system_name', "'/'", '_source_connection', "' '", 'object', "' '", 'record_key',
            "' was quarantined at ingestion: '", 'reason']) }} as reason,
        cast(null as numeric(18, 2)) as amount_at_risk,
        {{ governance_correlation('system_name', '_source_connection', 'object', 'record_key',
                                  '_dlt_load_id') }} as correlation_id
    from quarantined
)

{{ governance_detected('detected', 'ingestion') }}
