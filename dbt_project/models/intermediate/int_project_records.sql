-- Every project record from the PSA and the ERPs, in one shape, with its legal entity and
-- its canonical status (seed status_mapping).
{% set columns = [
    'source_system', 'source_relation', 'source_record_id', 'project_code', 'project_name',
    'customer_source_record_id', 'erp_project_ref', 'psa_project_code_ref', 'billing_method',
    'cost_center', 'practice', 'status_raw', 'is_active', 'start_date', 'end_date', 'closed_at',
    'currency_code', 'modified_at'] %}

with unioned as (
    {% for system in ['psa', 'netsuite', 'dynamics'] %}
    select
        {{ columns | join(', ') }},
        {% if system == 'netsuite' %}erp_subsidiary_id{% else %}cast(null as {{ dbt.type_string() }}){% endif %} as erp_subsidiary_id,
        legal_entity_code
    from {{ ref('int_project_records__' ~ system) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select
    unioned.source_system,
    unioned.source_relation,
    unioned.source_record_id,
    {{ dbt.concat(["unioned.source_system", "'|'", "unioned.source_relation", "'|'", "unioned.source_record_id"]) }} as project_record_key,
    unioned.project_code,
    unioned.project_name,
    unioned.customer_source_record_id,
    unioned.erp_project_ref,
    unioned.psa_project_code_ref,
    coalesce(unioned.legal_entity_code, le.legal_entity_code) as legal_entity_code,
    unioned.billing_method,
    unioned.cost_center,
    unioned.practice,
    unioned.status_raw,
    status.canonical_status as status,
    unioned.is_active,
    unioned.start_date,
    unioned.end_date,
    unioned.closed_at,
    unioned.currency_code,
    unioned.modified_at
from unioned
left join {{ ref('legal_entities') }} as le
    on unioned.source_system = le.erp_system
    and unioned.source_relation = le.erp_connection
    and unioned.erp_subsidiary_id = le.erp_subsidiary_id
left join {{ ref('status_mapping') }} as status
    on status.source_system = unioned.source_system
    and status.object = 'project'
    and status.raw_status = unioned.status_raw
