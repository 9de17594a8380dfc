-- Grain: one ERP invoice line (item or tax). Lines plus tax sum to the invoice total (tested).
select
    {{ dbt.concat([
        "lines.invoice_key", "'|'", "cast(lines.line_number as " ~ dbt.type_string() ~ ")",
    ]) }} as invoice_line_key,
    lines.invoice_key,
    lines.source_system,
    lines.source_relation,
    cast(lines.line_number as integer) as line_number,
    lines.line_type,
    lines.item,
    lines.description,
    cast(lines.quantity as double precision) as quantity,
    cast(lines.unit_price as numeric(18, 2)) as unit_price,
    cast(lines.line_amount as numeric(18, 2)) as line_amount,
    cast(coalesce(lines.tax_amount, 0) as numeric(18, 2)) as tax_amount,
    invoices.currency_code
from {{ ref('int_invoice_lines') }} as lines
inner join {{ ref('int_invoices') }} as invoices on invoices.invoice_key = lines.invoice_key
where invoices.document_type = 'invoice'
