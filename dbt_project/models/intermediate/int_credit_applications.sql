-- Credit notes applied to ERP invoices.
{% for system in ['netsuite', 'dynamics'] %}
select
    '{{ system }}' as source_system,
    source_relation,
    credit_id,
    invoice_number,
    credit_date,
    amount,
    currency_code
from {{ ref('int_credit_applications__' ~ system) }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
