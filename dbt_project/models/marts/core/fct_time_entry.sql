-- Grain: one PSA time entry (the PSA owns time). Hours, billable and approval state, whether
-- the ERP holds it, its value at the billed rate, at the employee's standard rate and at cost,
-- in transaction and reporting currency, and its billing status (invoiced / WIP).
with entries as (
    select * from {{ ref('int_time_entries__psa') }}
),

posted as (
    select distinct psa_time_entry_id from {{ ref('int_posted_hours') }}
    where psa_time_entry_id is not null
),

fx as (
    select * from {{ ref('int_fx_rates_to_reporting') }}
)

select
    entries.time_entry_id,
    {{ dbt.concat(["'psa|'", "entries.source_relation", "'|'", "entries.workspace_id"]) }} as project_key,
    entries.user_id as employee_id,
    cast(entries.work_date as date) as work_date,
    cast({{ dbt.date_trunc('week', 'entries.work_date') }} as date) as week_start,
    cast({{ dbt.date_trunc('month', 'entries.work_date') }} as date) as month_start,
    cast(entries.hours as double precision) as hours,
    cast(case when entries.is_billable then entries.hours else 0 end as double precision) as billable_hours,
    cast(case when entries.is_billable then 0 else entries.hours end as double precision) as nonbillable_hours,
    cast(entries.is_billable as boolean) as is_billable,
    cast(entries.is_approved as boolean) as is_approved,
    cast(entries.is_invoiced as boolean) as is_invoiced,
    posted.psa_time_entry_id is not null as is_posted_to_erp,
    case
        when not entries.is_billable then 'non_billable'
        when entries.is_invoiced then 'invoiced'
        when entries.is_approved then 'unbilled_wip'
        else 'unapproved'
    end as billing_status,
    entries.psa_invoice_id,
    entries.currency_code,
    cast(entries.bill_rate as numeric(18, 2)) as bill_rate,
    cast(entries.bill_amount as numeric(18, 2)) as bill_amount,
    cast(entries.hours * employees.standard_bill_rate as numeric(18, 2)) as standard_amount,
    employees.rate_currency_code as standard_rate_currency_code,
    cast(entries.cost_amount as numeric(18, 2)) as cost_amount,
    cast(entries.bill_amount * fx_entry.rate_to_reporting as numeric(18, 2)) as bill_amount_reporting,
    cast(entries.hours * employees.standard_bill_rate * fx_standard.rate_to_reporting as numeric(18, 2))
        as standard_amount_reporting,
    cast(entries.cost_amount * fx_entry.rate_to_reporting as numeric(18, 2)) as cost_amount_reporting,
    cast(entries.created_at as timestamp with time zone) as created_at,
    cast(entries.modified_at as timestamp with time zone) as modified_at
from entries
left join posted on posted.psa_time_entry_id = entries.time_entry_id
left join {{ ref('dim_employee') }} as employees on employees.employee_id = entries.user_id
left join fx as fx_entry
    on fx_entry.currency_code = entries.currency_code and fx_entry.rate_date = entries.work_date
left join fx as fx_standard
    on fx_standard.currency_code = employees.rate_currency_code
        and fx_standard.rate_date = entries.work_date
