-- Item and tax lines of NetSuite invoices and credit memos (mainline rows excluded; lines of
-- deleted transactions excluded through the header). Amounts carry the sign of the header's
-- common-shape total, so item lines + tax lines = total_amount of int_invoices__netsuite.
with

headers as (

    select * from {{ ref('int_invoices__netsuite') }}

),

lines as (

    select * from {{ ref('stg_netsuite__transactionline') }}
    where not is_mainline

),

joined as (

    select
        lines.*,
        headers.total_amount as header_total,
        sum(lines.amount) over (
            partition by lines.source_relation, lines.transaction_id
        ) as lines_total
    from lines
    inner join headers
        on lines.source_relation = headers.source_relation
        and lines.transaction_id = headers.invoice_id

),

signed as (

    select
        joined.*,
        -- NetSuite may store lines with the opposite sign of the header (income credits)
        case when lines_total * header_total < 0 then -1 else 1 end * amount as amount_signed
    from joined

)

select
    cast('netsuite' as {{ dbt.type_string() }}) as source_system,
    source_relation,
    transaction_id as invoice_id,
    cast(line_sequence_number as integer) as line_number,
    cast(case when is_taxline then 'tax' else 'item' end as {{ dbt.type_string() }}) as line_type,
    cast(item as {{ dbt.type_string() }}) as item,
    cast(memo as {{ dbt.type_string() }}) as description,
    cast(quantity as double precision) as quantity,
    cast(rate as double precision) as unit_price,
    -- item lines: net amount; tax lines: 0 (their amount is in tax_amount)
    cast(case when is_taxline then 0 else coalesce(amount_signed, 0) end as numeric(18, 2)) as line_amount,
    cast(case when is_taxline then coalesce(amount_signed, 0) else 0 end as numeric(18, 2)) as tax_amount

from signed
