-- Every employee record from the PSA and the ERPs, in one shape.
{% set columns = [
    'source_system', 'source_relation', 'source_record_id', 'employee_number', 'full_name',
    'email', 'practice', 'role', 'weekly_capacity_hours', 'bill_rate', 'cost_rate',
    'rate_currency_code', 'is_active'] %}

with unioned as (
    {% for system in ['psa', 'netsuite', 'dynamics'] %}
    select
        {{ columns | join(', ') }},
        {% if system == 'netsuite' %}erp_subsidiary_id{% else %}cast(null as {{ dbt.type_string() }}){% endif %} as erp_subsidiary_id,
        legal_entity_code
    from {{ ref('int_employee_records__' ~ system) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select
    unioned.source_system,
    unioned.source_relation,
    unioned.source_record_id,
    unioned.employee_number,
    unioned.full_name,
    lower(unioned.email) as email,
    coalesce(unioned.legal_entity_code, le.legal_entity_code) as legal_entity_code,
    unioned.practice,
    unioned.role,
    unioned.weekly_capacity_hours,
    unioned.bill_rate,
    unioned.cost_rate,
    unioned.rate_currency_code,
    unioned.is_active
from unioned
left join {{ ref('legal_entities') }} as le
    on unioned.source_system = le.erp_system
    and unioned.source_relation = le.erp_connection
    and unioned.erp_subsidiary_id = le.erp_subsidiary_id
