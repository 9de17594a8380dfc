-- Money: the lines sum to the header. Per ERP invoice, line amounts sum to the subtotal,
-- line taxes to the tax, and both to the total; an invoice with a non-zero total has lines.
with lines as (
    select
        invoice_key,
        sum(line_amount) as line_amount,
        sum(tax_amount) as tax_amount
    from {{ ref('fct_invoice_line') }}
    group by invoice_key
)

select
    invoices.invoice_key,
    invoices.subtotal_amount,
    lines.line_amount,
    invoices.tax_amount,
    lines.tax_amount as lines_tax_amount,
    invoices.total_amount
from {{ ref('fct_invoice') }} as invoices
left join lines on lines.invoice_key = invoices.invoice_key
where (lines.invoice_key is null and invoices.total_amount <> 0)
    or abs(invoices.subtotal_amount - lines.line_amount) > 0.01
    or abs(invoices.tax_amount - lines.tax_amount) > 0.01
    or abs(invoices.total_amount - (lines.line_amount + lines.tax_amount)) > 0.01
