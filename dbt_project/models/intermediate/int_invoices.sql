-- ERP invoices and credit notes (the ERP owns invoice numbers), with their legal entity.
{% set columns = [
    'source_system', 'source_relation', 'invoice_id', 'invoice_number', 'document_type',
    'customer_source_record_id', 'project_source_record_id', 'invoice_date', 'due_date',
    'currency_code', 'subtotal_amount', 'tax_amount', 'total_amount', 'erp_open_amount',
    'is_disputed', 'status_raw', 'psa_invoice_id', 'modified_at'] %}

with unioned as (
    {% for system in ['netsuite', 'dynamics'] %}
    select
        {{ columns | join(', ') }},
        {% if system == 'netsuite' %}erp_subsidiary_id{% else %}cast(null as {{ dbt.type_string() }}){% endif %} as erp_subsidiary_id,
        {% if system == 'dynamics' %}legal_entity_code{% else %}cast(null as {{ dbt.type_string() }}){% endif %} as legal_entity_code
    from {{ ref('int_invoices__' ~ system) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select
    {{ dbt.concat(["unioned.source_system", "'|'", "unioned.source_relation", "'|'", "unioned.invoice_id"]) }} as invoice_key,
    unioned.source_system,
    unioned.source_relation,
    unioned.invoice_id,
    unioned.invoice_number,
    unioned.document_type,
    unioned.customer_source_record_id,
    unioned.project_source_record_id,
    coalesce(unioned.legal_entity_code, le.legal_entity_code) as legal_entity_code,
    unioned.invoice_date,
    unioned.due_date,
    unioned.currency_code,
    unioned.subtotal_amount,
    unioned.tax_amount,
    unioned.total_amount,
    unioned.erp_open_amount,
    unioned.is_disputed,
    unioned.status_raw,
    unioned.psa_invoice_id,
    unioned.modified_at
from unioned
left join {{ ref('legal_entities') }} as le
    on unioned.source_system = le.erp_system
    and unioned.source_relation = le.erp_connection
    and unioned.erp_subsidiary_id = le.erp_subsidiary_id
