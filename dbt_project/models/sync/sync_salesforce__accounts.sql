-- What every live Salesforce Account should hold (Conform's integration fields only): its
-- canonical customer ID, the customer's ERP customer number (the golden one of dim_customer:
-- a single number, which the customer master reads back as matching evidence), its ultimate
-- parent, and the
-- customer's financial health from the ERPs: open and overdue receivables in the Account's
-- currency (through the reporting currency at the report date's rate) and the last payment.
{% set reporting = var('reporting_currency') %}
with

accounts as (
    select * from {{ ref('customer_xref') }}
    where source_system = 'salesforce' and not is_deleted
),

account_currency as (
    select source_relation, account_id, currency_code
    from {{ ref('stg_salesforce__account') }}
),

customers as (
    select * from {{ ref('dim_customer') }}
),

customer_invoices as (
    -- each ERP invoice's receivable, with the canonical customer of its ERP customer record
    select
        xref.canonical_customer_id,
        collections.as_of_date,
        collections.open_amount_reporting,
        collections.days_past_due
    from {{ ref('fct_invoice') }} as invoices
    inner join {{ ref('customer_xref') }} as xref
        on xref.customer_record_key = {{ dbt.concat([
            "invoices.source_system", "'|'", "invoices.source_relation", "'|'",
            "invoices.customer_source_record_id"]) }}
    inner join {{ ref('rpt_collections') }} as collections
        on collections.invoice_key = invoices.invoice_key
),

receivables as (
    select
        canonical_customer_id,
        max(as_of_date) as as_of_date,
        sum(coalesce(open_amount_reporting, 0)) as open_ar_reporting,
        sum(case when days_past_due > 0 then coalesce(open_amount_reporting, 0) else 0 end)
            as overdue_ar_reporting
    from customer_invoices
    group by canonical_customer_id
),

report_date as (
    select max(as_of_date) as as_of_date from {{ ref('rpt_collections') }}
),

last_payments as (
    select
        xref.canonical_customer_id,
        max(payments.payment_date) as last_payment_date
    from {{ ref('fct_payment') }} as payments
    inner join {{ ref('fct_invoice') }} as invoices
        on invoices.invoice_key = payments.invoice_key
    inner join {{ ref('customer_xref') }} as xref
        on xref.customer_record_key = {{ dbt.concat([
            "invoices.source_system", "'|'", "invoices.source_relation", "'|'",
            "invoices.customer_source_record_id"]) }}
    where payments.status = 'settled'
    group by xref.canonical_customer_id
),

rates as (
    -- reporting-currency value of one unit of the Account's currency at the report date
    select fx.currency_code, fx.rate_to_reporting
    from {{ ref('int_fx_rates_to_reporting') }} as fx
    inner join report_date on fx.rate_date = report_date.as_of_date
),

final as (
    select
        accounts.source_system as target_system,
        accounts.source_relation as target_connection,
        accounts.source_object as target_object,
        accounts.source_record_id as target_id,
        accounts.canonical_customer_id as canonical_id,
        accounts.customer_record_key as source_record_key,
        accounts.canonical_customer_id as conform_id,
        customers.erp_customer_number,
        customers.ultimate_parent_customer_id as ultimate_parent_conform_id,
        coalesce(account_currency.currency_code, '{{ reporting }}') as ar_currency_code,
        case
            when coalesce(account_currency.currency_code, '{{ reporting }}') = '{{ reporting }}'
                then coalesce(receivables.open_ar_reporting, 0)
            else coalesce(receivables.open_ar_reporting, 0) / nullif(rates.rate_to_reporting, 0)
        end as open_ar_amount,
        case
            when coalesce(account_currency.currency_code, '{{ reporting }}') = '{{ reporting }}'
                then coalesce(receivables.overdue_ar_reporting, 0)
            else coalesce(receivables.overdue_ar_reporting, 0) / nullif(rates.rate_to_reporting, 0)
        end as overdue_ar_amount,
        last_payments.last_payment_date
    from accounts
    inner join customers on customers.canonical_customer_id = accounts.canonical_customer_id
    left join account_currency
        on account_currency.source_relation = accounts.source_relation
            and account_currency.account_id = accounts.source_record_id
    left join receivables on receivables.canonical_customer_id = accounts.canonical_customer_id
    left join last_payments on last_payments.canonical_customer_id = accounts.canonical_customer_id
    left join rates on rates.currency_code = account_currency.currency_code
)

select
    cast(target_system as {{ dbt.type_string() }}) as target_system,
    cast(target_connection as {{ dbt.type_string() }}) as target_connection,
    cast(target_object as {{ dbt.type_string() }}) as target_object,
    cast(target_id as {{ dbt.type_string() }}) as target_id,
    cast(canonical_id as {{ dbt.type_string() }}) as canonical_id,
    cast(source_record_key as {{ dbt.type_string() }}) as source_record_key,
    cast(
        {{ sync_correlation_id('target_system', 'target_connection', 'target_object', 'target_id',
                               'source_record_key') }}
        as {{ dbt.type_string() }}
    ) as correlation_id,
    cast(conform_id as {{ dbt.type_string() }}) as conform_id,
    cast(erp_customer_number as {{ dbt.type_string() }}) as erp_customer_number,
    cast(ultimate_parent_conform_id as {{ dbt.type_string() }}) as ultimate_parent_conform_id,
    cast(ar_currency_code as {{ dbt.type_string() }}) as ar_currency_code,
    cast(open_ar_amount as numeric(18, 2)) as open_ar_amount,
    cast(overdue_ar_amount as numeric(18, 2)) as overdue_ar_amount,
    cast(last_payment_date as date) as last_payment_date
from final
