-- One row per reconciliation: records compared, records with a difference, those no known
-- exception (or time in transit) explains, and the absolute difference in reporting currency.
{% set recons = [
    ('time', 'reconciliation_time', 'difference_amount_reporting'),
    ('invoices', 'reconciliation_invoices', 'difference_amount_reporting'),
    ('payments', 'reconciliation_payments', 'difference_amount_reporting'),
    ('receivables', 'reconciliation_receivables', 'difference_amount_reporting'),
] %}

{% for name, model, amount in recons %}
select
    cast('{{ name }}' as {{ dbt.type_string() }}) as reconciliation,
    cast(count(*) as bigint) as records_compared,
    cast(sum(case when has_difference then 1 else 0 end) as bigint) as records_with_difference,
    cast(sum(case when has_unexplained_difference then 1 else 0 end) as bigint) as unexplained_differences,
    cast(coalesce(sum(abs({{ amount }})), 0) as numeric(18, 2)) as difference_amount
from {{ ref(model) }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
