-- Grain: one ERP invoice, with its receivable as of the report date (var as_of_date, else the
-- latest invoice or payment date in the data): days past due, aging bucket (current, 1-30,
-- 31-60, 61-90, 90+), time to cash for paid invoices, billing cycle time (invoice date less
-- the median work date of the time it bills).
{% set as_of = var('as_of_date', none) %}

with invoices as (
    select * from {{ ref('fct_invoice') }}
),

report_date as (
    {% if as_of %}
    select cast('{{ as_of }}' as date) as as_of_date
    {% else %}
    select max(dates.d) as as_of_date
    from (
        select max(invoices.invoice_date) as d from invoices
        union all
        select max(payments.payment_date) as d from {{ ref('fct_payment') }} as payments
    ) as dates
    {% endif %}
),

billed_work as (
    select
        psa_invoice_id,
        percentile_cont(0.5) within group (
            order by {{ dbt.datediff("cast('2000-01-01' as date)", 'work_date', 'day') }}
        ) as median_work_day_number
    from {{ ref('fct_time_entry') }}
    where psa_invoice_id is not null
    group by psa_invoice_id
),

measured as (
    select
        invoices.*,
        report_date.as_of_date,
        {{ dbt.datediff('invoices.due_date', 'report_date.as_of_date', 'day') }} as days_past_due,
        case when invoices.open_amount <= 0 and invoices.last_payment_date is not null
                then {{ dbt.datediff('invoices.invoice_date', 'invoices.last_payment_date', 'day') }}
        end as time_to_cash_days,
        {{ dbt.datediff("cast('2000-01-01' as date)", 'invoices.invoice_date', 'day') }}
        - billed_work.median_work_day_number as billing_cycle_days
    from invoices
    cross join report_date
    left join billed_work on billed_work.psa_invoice_id = invoices.psa_invoice_id
)

select
    invoice_key,
    invoice_number,
    source_system,
    legal_entity_code,
    customer_source_record_id,
    project_key,
    invoice_date,
    due_date,
    currency_code,
    total_amount,
    open_amount,
    open_amount_reporting,
    is_disputed,
    as_of_date,
    cast(days_past_due as integer) as days_past_due,
    case
        when open_amount <= 0 then 'settled'
        when days_past_due <= 0 then 'current'
        when days_past_due <= 30 then '1-30'
        when days_past_due <= 60 then '31-60'
        when days_past_due <= 90 then '61-90'
        else '90+'
    end as aging_bucket,
    cast(time_to_cash_days as integer) as time_to_cash_days,
    cast(billing_cycle_days as double precision) as billing_cycle_days
from measured
