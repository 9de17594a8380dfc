-- Money: per ERP invoice, the payments the ERP recorded plus the credit notes applied never
-- exceed the invoice total (one cent of rounding allowed). Computed from fct_payment and the
-- credit applications, not from fct_invoice's own paid/credited columns.
with paid as (
    select invoice_key, sum(amount) as paid_amount
    from {{ ref('fct_payment') }}
    where source_system <> 'stripe' and invoice_key is not null
    group by invoice_key
),

credited as (
    select source_system, source_relation, invoice_number, sum(amount) as credited_amount
    from {{ ref('int_credit_applications') }}
    group by source_system, source_relation, invoice_number
)

select
    invoices.invoice_key,
    invoices.total_amount,
    coalesce(paid.paid_amount, 0) as paid_amount,
    coalesce(credited.credited_amount, 0) as credited_amount
from {{ ref('fct_invoice') }} as invoices
left join paid on paid.invoice_key = invoices.invoice_key
left join credited
    on credited.source_system = invoices.source_system
    and credited.source_relation = invoices.source_relation
    and credited.invoice_number = invoices.invoice_number
where coalesce(paid.paid_amount, 0) + coalesce(credited.credited_amount, 0)
    > invoices.total_amount + 0.01
