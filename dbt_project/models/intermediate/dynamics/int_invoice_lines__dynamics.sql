-- Dynamics invoice and credit-note lines (SalesInvoiceLines). F&O carries each line's tax on
-- the line (LineTotalTaxAmount), so every line is an 'item' line with its tax_amount:
-- sum(line_amount + tax_amount) = the header total. Credit-note lines are sign-flipped to
-- positive, like their header in int_invoices__dynamics.

with

lines as (

    select * from {{ ref('stg_dynamics__sales_invoice_lines') }}

),

headers as (

    select source_relation, data_area_id, invoice_number, is_credit_note
    from {{ ref('stg_dynamics__sales_invoice_headers_v2') }}

),

joined as (

    select
        lines.*,
        case when headers.is_credit_note then -1 else 1 end as sign,
        row_number() over (
            partition by lines.source_relation, lines.data_area_id, lines.invoice_number
            order by lines.line_number
        ) as line_sequence
    from lines
    left join headers
        on lines.source_relation = headers.source_relation
        and lines.data_area_id = headers.data_area_id
        and lines.invoice_number = headers.invoice_number

)

select
    cast('dynamics' as {{ dbt.type_string() }}) as source_system,
    cast(source_relation as {{ dbt.type_string() }}) as source_relation,
    cast({{ dynamics_key(['data_area_id', 'invoice_number']) }} as {{ dbt.type_string() }}) as invoice_id,
    cast(line_sequence as integer) as line_number,
    cast(line_number as numeric(18, 4)) as source_line_number,
    cast('item' as {{ dbt.type_string() }}) as line_type,
    cast(item_number as {{ dbt.type_string() }}) as item,
    cast(line_description as {{ dbt.type_string() }}) as description,
    -- a credit note's quantity or price is negative (F&O books either way): both positive here
    cast(case when sign = -1 then abs(invoiced_quantity) else invoiced_quantity end as double precision) as quantity,
    cast(case when sign = -1 then abs(sales_price) else sales_price end as numeric(18, 2)) as unit_price,
    cast(sign * line_amount as numeric(18, 2)) as line_amount,
    cast(sign * coalesce(line_total_tax_amount, 0) as numeric(18, 2)) as tax_amount,
    cast(currency_code as {{ dbt.type_string() }}) as currency_code
from joined
