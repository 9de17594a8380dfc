-- Dynamics customer payments (posted CustomerPaymentJournalLines), each applied to the invoice
-- it marks (MarkedInvoice). A PaymentReference starting 'ch_' is the Stripe charge the payout
-- settled (channel 'card'); anything else is a bank receipt. payment_voucher is the ledger
-- voucher (CustomerTransactions 'Payment' row) the line posted as, matched on legal entity,
-- invoice, date and amount.

with

journal_lines as (

    select
        *,
        row_number() over (
            partition by source_relation, data_area_id, marked_invoice_number, transaction_date, credit_amount
            order by journal_batch_number, line_number
        ) as match_rank
    from {{ ref('stg_dynamics__customer_payment_journal_lines') }}
    where coalesce(is_posted, false)

),

payment_transactions as (

    select
        source_relation,
        data_area_id,
        voucher,
        invoice_number,
        transaction_date,
        amount_cur,
        row_number() over (
            partition by source_relation, data_area_id, invoice_number, transaction_date, amount_cur
            order by voucher
        ) as match_rank
    from {{ ref('stg_dynamics__customer_transactions') }}
    where transaction_type = 'Payment'

)

select
    cast('dynamics' as {{ dbt.type_string() }}) as source_system,
    cast(journal_lines.source_relation as {{ dbt.type_string() }}) as source_relation,
    cast(
        {{ dynamics_key(['journal_lines.data_area_id', 'journal_lines.journal_batch_number', dynamics_line_number_text('journal_lines.line_number')]) }}
        as {{ dbt.type_string() }}
    ) as payment_id,
    cast(payment_transactions.voucher as {{ dbt.type_string() }}) as payment_voucher,
    cast(journal_lines.marked_invoice_number as {{ dbt.type_string() }}) as invoice_number,
    cast(
        case
            when journal_lines.marked_invoice_number is not null
                then {{ dynamics_key(['journal_lines.data_area_id', 'journal_lines.marked_invoice_number']) }}
        end as {{ dbt.type_string() }}
    ) as invoice_id,
    cast({{ dynamics_key(['journal_lines.data_area_id', 'journal_lines.customer_account']) }} as {{ dbt.type_string() }}) as customer_source_record_id,
    cast(journal_lines.data_area_id as {{ dbt.type_string() }}) as legal_entity_code,
    cast(journal_lines.transaction_date as date) as payment_date,
    cast(journal_lines.credit_amount as numeric(18, 2)) as amount,
    cast(journal_lines.currency_code as {{ dbt.type_string() }}) as currency_code,
    cast(
        case when left(journal_lines.payment_reference, 3) = 'ch_' then 'card' else 'bank' end
        as {{ dbt.type_string() }}
    ) as channel,
    cast(
        case when left(journal_lines.payment_reference, 3) = 'ch_' then journal_lines.payment_reference end
        as {{ dbt.type_string() }}
    ) as stripe_charge_id,
    cast(journal_lines.payment_reference as {{ dbt.type_string() }}) as payment_reference,
    cast(journal_lines.modified_at as timestamp with time zone) as modified_at
from journal_lines
left join payment_transactions
    on journal_lines.source_relation = payment_transactions.source_relation
    and journal_lines.data_area_id = payment_transactions.data_area_id
    and journal_lines.marked_invoice_number = payment_transactions.invoice_number
    and journal_lines.transaction_date = payment_transactions.transaction_date
    and journal_lines.credit_amount = -payment_transactions.amount_cur
    and journal_lines.match_rank = payment_transactions.match_rank
