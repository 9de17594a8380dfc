-- Dynamics credit notes applied to invoices: CustomerTransactions 'CreditNote' rows, whose
-- InvoiceNumber is the credited invoice. credit_id is the credit note's invoice_id in
-- int_invoices__dynamics ('<dataareaid>|<credit note number>'), or '<dataareaid>|<voucher>'
-- when no credit-note header matches.

with

credits as (

    select * from {{ ref('int_credit_note_transactions__dynamics') }}

)

select
    cast('dynamics' as {{ dbt.type_string() }}) as source_system,
    cast(source_relation as {{ dbt.type_string() }}) as source_relation,
    cast(
        {{ dynamics_key(['data_area_id', 'coalesce(credit_note_number, voucher)']) }}
        as {{ dbt.type_string() }}
    ) as credit_id,
    cast(voucher as {{ dbt.type_string() }}) as credit_voucher,
    cast(credit_note_number as {{ dbt.type_string() }}) as credit_note_number,
    cast(credited_invoice_number as {{ dbt.type_string() }}) as invoice_number,
    cast({{ dynamics_key(['data_area_id', 'credited_invoice_number']) }} as {{ dbt.type_string() }}) as invoice_id,
    cast({{ dynamics_key(['data_area_id', 'customer_account']) }} as {{ dbt.type_string() }}) as customer_source_record_id,
    cast(data_area_id as {{ dbt.type_string() }}) as legal_entity_code,
    cast(transaction_date as date) as credit_date,
    -- the ledger books a credit negative: applied amount as a positive number
    cast(-amount_cur as numeric(18, 2)) as amount,
    cast(currency_code as {{ dbt.type_string() }}) as currency_code
from credits
