-- Time posted to NetSuite projects (timebill), one row per time bill; deleted and unposted
-- time bills left out. Rates are in the project's currency.
with

time_bills as (

    select * from {{ ref('stg_netsuite__timebill') }}
    where not is_deleted
        and is_posted

),

employees as (

    select * from {{ ref('stg_netsuite__employee') }}

),

jobs as (

    select * from {{ ref('stg_netsuite__job') }}

),

subsidiaries as (

    select * from {{ ref('stg_netsuite__subsidiary') }}

),

currencies as (

    select * from {{ ref('stg_netsuite__currency') }}

),

deleted as (

    select distinct source_relation, record_id
    from {{ ref('stg_netsuite__deletedrecord') }}
    where record_type = 'timebill'

)

select
    cast('netsuite' as {{ dbt.type_string() }}) as source_system,
    time_bills.source_relation,
    time_bills.time_bill_id as posting_id,
    time_bills.job_id as project_source_record_id,
    time_bills.psa_time_entry_id,
    -- null for intercompany time (the employee belongs to another NetSuite account)
    cast(employees.employee_number as {{ dbt.type_string() }}) as employee_number,
    cast(time_bills.work_date as date) as work_date,
    cast(time_bills.hours as double precision) as hours,
    cast(time_bills.is_billable as boolean) as is_billable,
    cast(time_bills.rate as double precision) as bill_rate,
    cast(coalesce(job_currencies.currency_code, base_currencies.currency_code) as {{ dbt.type_string() }}) as currency_code,
    cast(coalesce(time_bills.created_at, time_bills.modified_at) as timestamp with time zone) as posted_at

from time_bills
left join employees
    on time_bills.source_relation = employees.source_relation
    and time_bills.employee_id = employees.employee_id
left join jobs
    on time_bills.source_relation = jobs.source_relation
    and time_bills.job_id = jobs.job_id
left join currencies as job_currencies
    on jobs.source_relation = job_currencies.source_relation
    and jobs.currency_id = job_currencies.currency_id
left join subsidiaries
    on time_bills.source_relation = subsidiaries.source_relation
    and time_bills.subsidiary_id = subsidiaries.subsidiary_id
left join currencies as base_currencies
    on subsidiaries.source_relation = base_currencies.source_relation
    and subsidiaries.base_currency_id = base_currencies.currency_id
left join deleted
    on time_bills.source_relation = deleted.source_relation
    and time_bills.time_bill_id = deleted.record_id
where deleted.record_id is null
