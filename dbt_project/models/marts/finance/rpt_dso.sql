-- Grain: legal entity x month. DSO = accounts receivable at month end / revenue invoiced in
-- the month x days in the month, in the reporting currency. AR at month end = invoices issued
-- by then, less credits and ERP payments dated by then (converted at each invoice's rate).
with invoices as (
    select
        invoice_key,
        source_system,
        source_relation,
        invoice_number,
        legal_entity_code,
        invoice_date,
        total_amount,
        total_amount_reporting / nullif(total_amount, 0) as rate_to_reporting
    from {{ ref('fct_invoice') }}
),

settlements as (
    select source_system, source_relation, invoice_number, payment_date as settled_on, amount
    from {{ ref('int_payments') }}
    where source_system in ('netsuite', 'dynamics')
    union all
    select source_system, source_relation, invoice_number, credit_date as settled_on, amount
    from {{ ref('int_credit_applications') }}
),

months as (
    select distinct
        month_start,
        cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'month_start')) }} as date) as month_end
    from {{ ref('dim_date') }}
    where
        month_start >= (
            select min(cast({{ dbt.date_trunc('month', 'invoice_date') }} as date)) as first_month
            from invoices
        )
        and month_start <= (select max(invoice_date) as last_invoice_date from invoices)
),

receivable as (
    select
        months.month_start,
        invoices.legal_entity_code,
        sum(invoices.total_amount * invoices.rate_to_reporting) as invoiced,
        sum(case when invoices.invoice_date >= months.month_start
                then invoices.total_amount * invoices.rate_to_reporting
            else 0
        end) as revenue
    from months
    inner join invoices on invoices.invoice_date <= months.month_end
    group by months.month_start, invoices.legal_entity_code
),

settled as (
    select
        months.month_start,
        invoices.legal_entity_code,
        sum(settlements.amount * invoices.rate_to_reporting) as settled
    from months
    inner join settlements on settlements.settled_on <= months.month_end
    inner join invoices
        on invoices.source_system = settlements.source_system
            and invoices.source_relation = settlements.source_relation
            and invoices.invoice_number = settlements.invoice_number
            and invoices.invoice_date <= months.month_end
    group by months.month_start, invoices.legal_entity_code
)

select
    cast(
        {{ dbt.concat([
            "receivable.legal_entity_code", "'|'",
            "cast(receivable.month_start as " ~ dbt.type_string() ~ ")"
        ]) }} as varchar
    )
        as dso_key,
    cast(receivable.legal_entity_code as varchar) as legal_entity_code,
    cast(receivable.month_start as date) as month_start,
    cast(receivable.invoiced - coalesce(settled.settled, 0) as numeric(18, 2)) as ar_reporting,
    cast(receivable.revenue as numeric(18, 2)) as revenue_reporting,
    cast(
        {{ dbt.datediff(
            'receivable.month_start', dbt.dateadd('month', 1, 'receivable.month_start'), 'day'
        ) }} as integer
    )
        as days_in_month,
    cast(
        case when receivable.revenue > 0 then
                (receivable.invoiced - coalesce(settled.settled, 0)) / receivable.revenue
                * {{ dbt.datediff('receivable.month_start', dbt.dateadd('month', 1, 'receivable.month_start'), 'day') }}
        end as double precision
    ) as dso_days
from receivable
left join settled
    on settled.month_start = receivable.month_start
        and settled.legal_entity_code = receivable.legal_entity_code
