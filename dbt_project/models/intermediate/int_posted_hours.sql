-- Time posted to the ERPs' projects (what finance bills from), keyed back to the PSA entry.
{% for system in ['netsuite', 'dynamics'] %}
select
    '{{ system }}' as source_system,
    source_relation,
    posting_id,
    project_source_record_id,
    psa_time_entry_id,
    employee_number,
    work_date,
    hours,
    is_billable,
    bill_rate,
    currency_code,
    posted_at
from {{ ref('int_posted_hours__' ~ system) }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
