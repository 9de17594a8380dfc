-- NetSuite customer payments (CustPymt), one row per invoice a payment is applied to
-- (previoustransactionlink linktype 'Payment'), plus one row with a null invoice_number for
-- any part of a payment not applied to an invoice. Deleted payments left out.
with

transactions as (

    select * from {{ ref('stg_netsuite__transaction') }}

),

payments as (

    {{ netsuite_live_transactions('transactions', 'CustPymt', 'customerpayment') }}

),

links as (

    select * from {{ ref('stg_netsuite__previoustransactionlink') }}
    where link_type = 'Payment'

),

currencies as (

    select * from {{ ref('stg_netsuite__currency') }}

),

applied as (

    select
        payments.source_relation,
        payments.transaction_id as payment_id,
        invoices.transaction_number as invoice_number,
        abs(links.applied_amount) as amount
    from payments
    inner join links
        on payments.source_relation = links.source_relation
        and payments.transaction_id = links.next_transaction_id
    left join transactions as invoices
        on links.source_relation = invoices.source_relation
        and links.previous_transaction_id = invoices.transaction_id

),

unapplied as (

    select
        payments.source_relation,
        payments.transaction_id as payment_id,
        cast(null as {{ dbt.type_string() }}) as invoice_number,
        abs(payments.total_amount) - coalesce(sum(applied.amount), 0) as amount
    from payments
    left join applied
        on payments.source_relation = applied.source_relation
        and payments.transaction_id = applied.payment_id
    group by payments.source_relation, payments.transaction_id, payments.total_amount
    having abs(payments.total_amount) - coalesce(sum(applied.amount), 0) >= 0.005

),

applications as (

    select * from applied
    union all
    select * from unapplied

)

select
    cast('netsuite' as {{ dbt.type_string() }}) as source_system,
    payments.source_relation,
    payments.transaction_id as payment_id,
    cast(applications.invoice_number as {{ dbt.type_string() }}) as invoice_number,
    payments.customer_id as customer_source_record_id,
    cast(payments.transaction_date as date) as payment_date,
    cast(applications.amount as numeric(18, 2)) as amount,
    cast(currencies.currency_code as {{ dbt.type_string() }}) as currency_code,
    cast(case when payments.stripe_charge_id is not null then 'card' else 'bank' end as {{ dbt.type_string() }}) as channel,
    cast(payments.stripe_charge_id as {{ dbt.type_string() }}) as stripe_charge_id

from applications
inner join payments
    on applications.source_relation = payments.source_relation
    and applications.payment_id = payments.transaction_id
left join currencies
    on payments.source_relation = currencies.source_relation
    and payments.currency_id = currencies.currency_id
