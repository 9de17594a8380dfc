-- Grain: project x billing status x WIP age bucket, as of the report date: what is billed and
-- what is unbilled WIP (approved billable time not yet on an invoice, valued at bill rate),
-- aged like receivables by work date.
with report_date as (
    select as_of_date from {{ ref('rpt_collections') }}
    group by as_of_date
),

entries as (
    select
        t.project_key,
        t.billing_status,
        t.bill_amount_reporting,
        t.billable_hours,
        {{ dbt.datediff('t.work_date', 'report_date.as_of_date', 'day') }} as age_days
    from {{ ref('fct_time_entry') }} as t
    cross join report_date
    where t.is_billable
)

select
    {{ dbt.concat(["project_key", "'|'", "billing_status", "'|'", "age_bucket"]) }} as billing_key,
    project_key,
    billing_status,
    age_bucket,
    cast(sum(billable_hours) as double precision) as billable_hours,
    cast(sum(bill_amount_reporting) as numeric(18, 2)) as value_reporting
from (
    select
        entries.*,
        case
            when entries.age_days <= 30 then '0-30'
            when entries.age_days <= 60 then '31-60'
            when entries.age_days <= 90 then '61-90'
            else '90+'
        end as age_bucket
    from entries
) as aged
group by project_key, billing_status, age_bucket
