{#- Generic tests of the Dynamics intermediate models (money flows must reconcile). -#}

{#- Every invoice's lines plus their tax sum to its total (to the cent). -#}
{% test dynamics_lines_sum_to_total(model, lines) %}
with line_totals as (
    select source_relation, invoice_id, sum(line_amount + tax_amount) as lines_total
    from {{ lines }}
    group by source_relation, invoice_id
)
select invoices.source_relation, invoices.invoice_id, invoices.total_amount, line_totals.lines_total
from {{ model }} as invoices
left join line_totals
    on invoices.source_relation = line_totals.source_relation
    and invoices.invoice_id = line_totals.invoice_id
where line_totals.lines_total is null
    or abs(invoices.total_amount - line_totals.lines_total) >= 0.005
{% endtest %}

{#- An invoice's ledger open amount equals its total less the payments and credits applied. -#}
{% test dynamics_open_amount_reconciles(model, payments, credits) %}
with paid as (
    select source_relation, invoice_id, sum(amount) as amount
    from {{ payments }}
    group by source_relation, invoice_id
),

credited as (
    select source_relation, invoice_id, sum(amount) as amount
    from {{ credits }}
    group by source_relation, invoice_id
)

select invoices.source_relation, invoices.invoice_id, invoices.total_amount, invoices.erp_open_amount,
    paid.amount as paid_amount, credited.amount as credited_amount
from {{ model }} as invoices
left join paid
    on invoices.source_relation = paid.source_relation
    and invoices.invoice_id = paid.invoice_id
left join credited
    on invoices.source_relation = credited.source_relation
    and invoices.invoice_id = credited.invoice_id
where invoices.document_type = 'invoice'
    and abs(
        invoices.total_amount - coalesce(paid.amount, 0) - coalesce(credited.amount, 0)
        - coalesce(invoices.erp_open_amount, invoices.total_amount)
    ) >= 0.005
{% endtest %}
