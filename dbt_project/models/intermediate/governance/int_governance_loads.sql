-- The latest completed dlt load of each source connection (its _dlt_loads table: schema name
-- `<system>_<connection>`, status 0 = completed): the load part of every correlation_id.
-- each system's staging (so its load, which writes these tables, runs first):
-- depends_on: {{ ref('stg_salesforce__account') }}
-- depends_on: {{ ref('stg_psa__time_entries') }}
-- depends_on: {{ ref('stg_netsuite__transaction') }}
-- depends_on: {{ ref('stg_dynamics__customers_v3') }}
-- depends_on: {{ ref('stg_stripe__charges') }}
with loads as (
    {% for system in ['salesforce', 'psa', 'netsuite', 'dynamics', 'stripe'] %}
    select
        cast('{{ system }}' as {{ dbt.type_string() }}) as source_system,
        schema_name,
        load_id,
        status
    from (
        {{ relation_or_empty('raw_' ~ system, '_dlt_loads', [
            ('load_id', dbt.type_string()),
            ('schema_name', dbt.type_string()),
            ('status', 'bigint')]) }}
    ) as l
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select
    source_system,
    cast(substring(schema_name, {{ dbt.length('source_system') }} + 2) as {{ dbt.type_string() }})
        as source_connection,
    max(load_id) as latest_load_id
from loads
where status = 0
group by source_system, schema_name
