-- NetSuite credit memos (CustCred) applied to invoices (previoustransactionlink linktype
-- 'Credit Memo'), one row per credit memo and invoice, amount positive. Deleted credit memos
-- left out.
with

transactions as (

    select * from {{ ref('stg_netsuite__transaction') }}

),

credits as (

    {{ netsuite_live_transactions('transactions', 'CustCred', 'creditmemo') }}

),

links as (

    select * from {{ ref('stg_netsuite__previoustransactionlink') }}
    where link_type = 'Credit Memo'

),

currencies as (

    select * from {{ ref('stg_netsuite__currency') }}

)

select
    cast('netsuite' as {{ dbt.type_string() }}) as source_system,
    credits.source_relation,
    credits.transaction_id as credit_id,
    cast(invoices.transaction_number as {{ dbt.type_string() }}) as invoice_number,
    cast(credits.transaction_date as date) as credit_date,
    cast(abs(links.applied_amount) as numeric(18, 2)) as amount,
    cast(currencies.currency_code as {{ dbt.type_string() }}) as currency_code

from credits
inner join links
    on credits.source_relation = links.source_relation
    and credits.transaction_id = links.next_transaction_id
left join transactions as invoices
    on links.source_relation = invoices.source_relation
    and links.previous_transaction_id = invoices.transaction_id
left join currencies
    on credits.source_relation = currencies.source_relation
    and credits.currency_id = currencies.currency_id
