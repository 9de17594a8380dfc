-- Every client record from every system, in one shape: the input of the customer master.
{% set systems = ['salesforce', 'psa', 'netsuite', 'dynamics', 'stripe'] %}
{% set columns = [
    'source_system', 'source_relation', 'source_object', 'source_record_id', 'customer_name',
    'tax_id_raw', 'country_raw', 'country_code', 'website_raw', 'email', 'city',
    'parent_source_record_id', 'erp_customer_number', 'erp_customer_number_hint',
    'currency_code', 'created_at', 'modified_at', 'is_deleted'] %}

with unioned as (
    {% for system in systems %}
    select
        {{ columns | join(', ') }},
        {% if system == 'netsuite' %}erp_subsidiary_id{% else %}cast(null as {{ dbt.type_string() }}){% endif %} as erp_subsidiary_id,
        {% if system in ['netsuite', 'dynamics'] %}legal_entity_code{% else %}cast(null as {{ dbt.type_string() }}){% endif %} as legal_entity_code
    from {{ ref('int_customer_records__' ~ system) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select
    unioned.source_system,
    unioned.source_relation,
    unioned.source_object,
    unioned.source_record_id,
    {{ dbt.concat(["unioned.source_system", "'|'", "unioned.source_relation", "'|'", "unioned.source_record_id"]) }} as customer_record_key,
    unioned.customer_name,
    unioned.tax_id_raw,
    unioned.country_raw,
    unioned.country_code,
    unioned.website_raw,
    unioned.email,
    unioned.city,
    unioned.parent_source_record_id,
    unioned.erp_customer_number,
    unioned.erp_customer_number_hint,
    coalesce(unioned.legal_entity_code, le.legal_entity_code) as legal_entity_code,
    unioned.currency_code,
    unioned.created_at,
    unioned.modified_at,
    unioned.is_deleted
from unioned
left join {{ ref('legal_entities') }} as le
    on unioned.source_system = le.erp_system
    and unioned.source_relation = le.erp_connection
    and unioned.erp_subsidiary_id = le.erp_subsidiary_id
