-- ERP invoice lines (item and tax lines), keyed to their invoice.
{% set columns = ['invoice_id', 'line_number', 'line_type', 'item', 'description', 'quantity',
                  'unit_price', 'line_amount', 'tax_amount'] %}

{% for system in ['netsuite', 'dynamics'] %}
select
    {{ dbt.concat(["'" ~ system ~ "'", "'|'", "source_relation", "'|'", "invoice_id"]) }} as invoice_key,
    '{{ system }}' as source_system,
    source_relation,
    {{ columns | join(', ') }}
from {{ ref('int_invoice_lines__' ~ system) }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
