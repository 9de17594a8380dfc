-- NetSuite invoices (CustInvc) and credit memos (CustCred, document_type 'credit_note', amounts
-- positive) in the common invoice shape; deleted transactions left out.
with

transactions as (

    select * from {{ ref('stg_netsuite__transaction') }}
    where transaction_type in ('CustInvc', 'CustCred')
        and not is_deleted

),

mainlines as (

    -- the mainline carries the transaction's subsidiary
    select
        source_relation,
        transaction_id,
        max(subsidiary_id) as subsidiary_id
    from {{ ref('stg_netsuite__transactionline') }}
    where is_mainline
    group by source_relation, transaction_id

),

customers as (

    select * from {{ ref('stg_netsuite__customer') }}

),

currencies as (

    select * from {{ ref('stg_netsuite__currency') }}

),

deleted as (

    select distinct source_relation, record_id
    from {{ ref('stg_netsuite__deletedrecord') }}
    where record_type in ('invoice', 'creditmemo')

),

documents as (

    select
        transactions.*,
        case when transactions.transaction_type = 'CustCred' then 'credit_note' else 'invoice' end as document_type,
        -- credit notes carry positive amounts, whatever sign the account stores
        case when transactions.transaction_type = 'CustCred' then -1 else 1 end as credit_sign,
        coalesce(mainlines.subsidiary_id, customers.subsidiary_id) as erp_subsidiary_id,
        currencies.currency_code
    from transactions
    left join mainlines
        on transactions.source_relation = mainlines.source_relation
        and transactions.transaction_id = mainlines.transaction_id
    left join customers
        on transactions.source_relation = customers.source_relation
        and transactions.customer_id = customers.customer_id
    left join currencies
        on transactions.source_relation = currencies.source_relation
        and transactions.currency_id = currencies.currency_id
    left join deleted
        on transactions.source_relation = deleted.source_relation
        and transactions.transaction_id = deleted.record_id
    where deleted.record_id is null

),

amounts as (

    select
        documents.*,
        case when document_type = 'credit_note' then abs(total_amount) else total_amount end as total_signed,
        case when document_type = 'credit_note' then abs(coalesce(tax_amount, 0)) else coalesce(tax_amount, 0) end as tax_signed,
        case when document_type = 'credit_note' then abs(coalesce(amount_remaining, 0)) else coalesce(amount_remaining, 0) end as open_signed
    from documents

)

select
    cast('netsuite' as {{ dbt.type_string() }}) as source_system,
    source_relation,
    transaction_id as invoice_id,
    cast(transaction_number as {{ dbt.type_string() }}) as invoice_number,
    cast(document_type as {{ dbt.type_string() }}) as document_type,
    customer_id as customer_source_record_id,
    job_id as project_source_record_id,
    cast(null as {{ dbt.type_string() }}) as legal_entity_code,
    erp_subsidiary_id,
    cast(transaction_date as date) as invoice_date,
    cast(due_date as date) as due_date,
    cast(currency_code as {{ dbt.type_string() }}) as currency_code,
    cast(total_signed - tax_signed as numeric(18, 2)) as subtotal_amount,
    cast(tax_signed as numeric(18, 2)) as tax_amount,
    cast(total_signed as numeric(18, 2)) as total_amount,
    -- foreignamountremaining: invoice balance still due (credit note: credit not yet applied)
    cast(open_signed as numeric(18, 2)) as erp_open_amount,
    cast(is_disputed as boolean) as is_disputed,
    -- transaction status code: A open, B paid in full (credit note: fully applied)
    cast(status_code as {{ dbt.type_string() }}) as status_raw,
    cast(psa_invoice_id as {{ dbt.type_string() }}) as psa_invoice_id,
    cast(modified_at as timestamp with time zone) as modified_at

from amounts
