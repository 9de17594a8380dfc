-- Dynamics posted invoices and credit notes (SalesInvoiceHeadersV2) in the common invoice
-- shape. Credit notes (negative totals in F&O) are document_type 'credit_note' with positive
-- amounts. erp_open_amount = AmountCur - SettledAmountCur of the invoice's CustomerTransactions
-- 'Invoice' row; for a credit note, of its 'CreditNote' row (what is left unapplied).

with

headers as (

    select * from {{ ref('stg_dynamics__sales_invoice_headers_v2') }}

),

invoice_transactions as (

    select
        source_relation,
        data_area_id,
        invoice_number,
        sum(amount_cur - settled_amount_cur) as open_amount,
        -- closed once every ledger row of the invoice has a ClosedDate
        min(case when closed_date is null then 0 else 1 end) as is_closed,
        max(modified_at) as modified_at
    from {{ ref('stg_dynamics__customer_transactions') }}
    where transaction_type = 'Invoice'
    group by source_relation, data_area_id, invoice_number

),

credit_transactions as (

    select
        source_relation,
        data_area_id,
        credit_note_number,
        -- ledger amounts of a credit are negative: the unapplied part, as a positive amount
        sum(settled_amount_cur - amount_cur) as open_amount
    from {{ ref('int_credit_note_transactions__dynamics') }}
    where credit_note_number is not null
    group by source_relation, data_area_id, credit_note_number

),

joined as (

    select
        headers.*,
        case when headers.is_credit_note then -1 else 1 end as sign,
        case
            when headers.is_credit_note
                then coalesce(credit_transactions.open_amount, -headers.total_invoice_amount)
            else invoice_transactions.open_amount
        end as open_amount,
        invoice_transactions.modified_at as ledger_modified_at,
        case
            when invoice_transactions.is_closed = 1 then 'closed'
            when invoice_transactions.is_closed = 0 then 'open'
        end as status_raw
    from headers
    left join invoice_transactions
        on headers.source_relation = invoice_transactions.source_relation
        and headers.data_area_id = invoice_transactions.data_area_id
        and headers.invoice_number = invoice_transactions.invoice_number
        and not headers.is_credit_note
    left join credit_transactions
        on headers.source_relation = credit_transactions.source_relation
        and headers.data_area_id = credit_transactions.data_area_id
        and headers.invoice_number = credit_transactions.credit_note_number
        and headers.is_credit_note

)

select
    cast('dynamics' as {{ dbt.type_string() }}) as source_system,
    cast(source_relation as {{ dbt.type_string() }}) as source_relation,
    cast({{ dynamics_key(['data_area_id', 'invoice_number']) }} as {{ dbt.type_string() }}) as invoice_id,
    cast(invoice_number as {{ dbt.type_string() }}) as invoice_number,
    cast(case when is_credit_note then 'credit_note' else 'invoice' end as {{ dbt.type_string() }}) as document_type,
    cast({{ dynamics_key(['data_area_id', 'invoice_customer_account_number']) }} as {{ dbt.type_string() }}) as customer_source_record_id,
    cast(
        case when project_id is not null then {{ dynamics_key(['data_area_id', 'project_id']) }} end
        as {{ dbt.type_string() }}
    ) as project_source_record_id,
    cast(data_area_id as {{ dbt.type_string() }}) as legal_entity_code,
    cast(null as {{ dbt.type_string() }}) as erp_subsidiary_id,
    cast(invoice_date as date) as invoice_date,
    cast(due_date as date) as due_date,
    cast(currency_code as {{ dbt.type_string() }}) as currency_code,
    cast(sign * (total_invoice_amount - coalesce(total_tax_amount, 0)) as numeric(18, 2)) as subtotal_amount,
    cast(sign * coalesce(total_tax_amount, 0) as numeric(18, 2)) as tax_amount,
    cast(sign * total_invoice_amount as numeric(18, 2)) as total_amount,
    cast(open_amount as numeric(18, 2)) as erp_open_amount,
    cast(is_disputed as boolean) as is_disputed,
    -- CustomerTransactions: 'closed' when the invoice's ledger row has a ClosedDate, else 'open'
    cast(status_raw as {{ dbt.type_string() }}) as status_raw,
    cast(psa_invoice_id as {{ dbt.type_string() }}) as psa_invoice_id,
    -- the header's stamp does not move on settlement: take the ledger's when later
    cast(
        case
            when ledger_modified_at is not null and ledger_modified_at > modified_at then ledger_modified_at
            else modified_at
        end as timestamp with time zone
    ) as modified_at
from joined
