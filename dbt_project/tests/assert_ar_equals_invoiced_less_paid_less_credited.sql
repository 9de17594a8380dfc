-- Money: AR = invoiced - paid - credited. fct_invoice.open_amount must equal the invoice
-- total from int_invoices less the ERP payments (int_payments) less the credit notes applied
-- (int_credit_applications), recomputed here from the intermediate components.
with invoiced as (
    select invoice_key, source_system, source_relation, invoice_number, total_amount
    from {{ ref('int_invoices') }}
    where document_type = 'invoice'
),

paid as (
    select source_system, source_relation, invoice_number, sum(amount) as paid_amount
    from {{ ref('int_payments') }}
    where source_system in ('netsuite', 'dynamics')
    group by source_system, source_relation, invoice_number
),

credited as (
    select source_system, source_relation, invoice_number, sum(amount) as credited_amount
    from {{ ref('int_credit_applications') }}
    group by source_system, source_relation, invoice_number
),

expected as (
    select
        invoiced.invoice_key,
        invoiced.total_amount
        - coalesce(paid.paid_amount, 0)
        - coalesce(credited.credited_amount, 0) as expected_open_amount
    from invoiced
    left join paid
        on paid.source_system = invoiced.source_system
        and paid.source_relation = invoiced.source_relation
        and paid.invoice_number = invoiced.invoice_number
    left join credited
        on credited.source_system = invoiced.source_system
        and credited.source_relation = invoiced.source_relation
        and credited.invoice_number = invoiced.invoice_number
)

select
    expected.invoice_key,
    expected.expected_open_amount,
    marts.open_amount
from expected
full outer join {{ ref('fct_invoice') }} as marts on marts.invoice_key = expected.invoice_key
where marts.invoice_key is null
    or expected.invoice_key is null
    or abs(marts.open_amount - expected.expected_open_amount) > 0.01
