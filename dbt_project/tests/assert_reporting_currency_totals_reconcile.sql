-- Money: reporting-currency totals reconcile. The invoice lines (amount + tax) converted at
-- the reporting rate of the invoice date equal fct_invoice.total_amount_reporting, within
-- rounding (one cent per line, at least one cent).
with fx as (
    select * from {{ ref('int_fx_rates_to_reporting') }}
),

lines as (
    select
        invoice_key,
        count(*) as line_count,
        sum(line_amount + tax_amount) as lines_amount
    from {{ ref('fct_invoice_line') }}
    group by invoice_key
)

select
    invoices.invoice_key,
    invoices.total_amount_reporting,
    lines.lines_amount * fx.rate_to_reporting as lines_amount_reporting
from {{ ref('fct_invoice') }} as invoices
inner join lines on lines.invoice_key = invoices.invoice_key
left join fx
    on fx.currency_code = invoices.currency_code
    and fx.rate_date = invoices.invoice_date
where invoices.has_reporting_rate
    and abs(lines.lines_amount * fx.rate_to_reporting - invoices.total_amount_reporting)
    > 0.01 * lines.line_count
