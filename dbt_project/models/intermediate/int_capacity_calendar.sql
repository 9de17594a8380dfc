-- Capacity calendar. Grain: employee x working day (weekday), from the employee's first logged
-- day to the latest logged day in the data while active (to their own last logged day once
-- they have left). capacity_hours = weekly capacity / 5, zero on the employee's public
-- holidays, less approved time off (never below zero).
with employees as (
    select
        source_record_id as employee_id,
        legal_entity_code,
        cast(weekly_capacity_hours as double precision) as weekly_capacity_hours,
        cast(is_active as boolean) as is_active
    from {{ ref('int_employee_records') }}
    where source_system = 'psa'
),

entries as (
    select user_id as employee_id, cast(work_date as date) as work_date
    from {{ ref('int_time_entries__psa') }}
),

activity as (
    select employee_id, min(work_date) as first_day, max(work_date) as last_day
    from entries
    group by employee_id
),

data_end as (
    -- the latest logged day in the data: active employees' capacity runs to it
    select max(work_date) as last_day from entries
),

holidays as (
    select distinct user_id, holiday_date from {{ ref('int_holidays__psa') }}
),

time_off as (
    select user_id, off_date, sum(hours) as hours from {{ ref('int_time_off__psa') }}
    group by user_id, off_date
),

days as (
    select
        employees.employee_id,
        employees.legal_entity_code,
        dates.date_day,
        dates.week_start,
        dates.month_start,
        holidays.holiday_date is not null as is_holiday,
        coalesce(time_off.hours, 0) as time_off_hours,
        case
            when holidays.holiday_date is not null then 0
            else greatest(employees.weekly_capacity_hours / 5 - coalesce(time_off.hours, 0), 0)
        end as capacity_hours
    from employees
    inner join activity on activity.employee_id = employees.employee_id
    cross join data_end
    inner join {{ ref('dim_date') }} as dates
        on dates.date_day >= activity.first_day
            and dates.date_day <= case when employees.is_active then data_end.last_day else activity.last_day end
            and dates.is_weekday
    left join holidays
        on holidays.user_id = employees.employee_id and holidays.holiday_date = dates.date_day
    left join time_off
        on time_off.user_id = employees.employee_id and time_off.off_date = dates.date_day
)

select
    {{ dbt.concat(["employee_id", "'|'", "cast(date_day as " ~ dbt.type_string() ~ ")"]) }} as capacity_day_key,
    cast(employee_id as {{ dbt.type_string() }}) as employee_id,
    cast(legal_entity_code as {{ dbt.type_string() }}) as legal_entity_code,
    cast(date_day as date) as date_day,
    cast(week_start as date) as week_start,
    cast(month_start as date) as month_start,
    cast(is_holiday as boolean) as is_holiday,
    cast(time_off_hours as double precision) as time_off_hours,
    cast(capacity_hours as double precision) as capacity_hours
from days
