-- Pairs each CustomerTransactions 'CreditNote' row (the credit's settlement against the invoice
-- it credits, InvoiceNumber = the credited invoice) with its SalesInvoiceHeadersV2 credit note
-- (negative total). F&O's entities carry no direct link: they match on legal entity, customer
-- account, date and amount; identical candidates pair in voucher / credit-note-number order.

with

credit_transactions as (

    select
        source_relation,
        data_area_id,
        voucher,
        customer_account,
        invoice_number as credited_invoice_number,
        transaction_date,
        currency_code,
        amount_cur,
        settled_amount_cur,
        row_number() over (
            partition by source_relation, data_area_id, customer_account, transaction_date, amount_cur
            order by voucher
        ) as match_rank
    from {{ ref('stg_dynamics__customer_transactions') }}
    where transaction_type = 'CreditNote'

),

credit_notes as (

    select
        source_relation,
        data_area_id,
        invoice_number as credit_note_number,
        invoice_customer_account_number as customer_account,
        invoice_date,
        total_invoice_amount,
        row_number() over (
            partition by source_relation, data_area_id, invoice_customer_account_number, invoice_date, total_invoice_amount
            order by invoice_number
        ) as match_rank
    from {{ ref('stg_dynamics__sales_invoice_headers_v2') }}
    where is_credit_note

)

select
    credit_transactions.source_relation,
    credit_transactions.data_area_id,
    credit_transactions.voucher,
    credit_transactions.customer_account,
    credit_transactions.credited_invoice_number,
    credit_notes.credit_note_number,
    credit_transactions.transaction_date,
    credit_transactions.currency_code,
    credit_transactions.amount_cur,
    credit_transactions.settled_amount_cur
from credit_transactions
left join credit_notes
    on credit_transactions.source_relation = credit_notes.source_relation
    and credit_transactions.data_area_id = credit_notes.data_area_id
    and credit_transactions.customer_account = credit_notes.customer_account
    and credit_transactions.transaction_date = credit_notes.invoice_date
    and credit_transactions.amount_cur = credit_notes.total_invoice_amount
    and credit_transactions.match_rank = credit_notes.match_rank
