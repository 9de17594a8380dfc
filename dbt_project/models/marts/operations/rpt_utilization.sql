-- Grain: employee x period (period_grain 'week' or 'month'). Billable utilization =
-- billable hours / capacity hours; capacity = standard hours per working day (weekly capacity
-- / 5) on weekdays that are not the employee's public holidays, less approved time off,
-- counted from the employee's first logged day to the last while active.
with employees as (
    select employee_id, full_name, legal_entity_code, practice, role, weekly_capacity_hours, is_active
    from {{ ref('dim_employee') }}
),

activity as (
    select employee_id, min(work_date) as first_day, max(work_date) as last_day
    from {{ ref('fct_time_entry') }}
    group by employee_id
),

data_end as (
    -- the latest logged day in the data: active employees' capacity runs to it
    select max(work_date) as last_day from {{ ref('fct_time_entry') }}
),

holidays as (
    select distinct user_id, holiday_date from {{ ref('int_holidays__psa') }}
),

time_off as (
    select user_id, off_date, sum(hours) as hours from {{ ref('int_time_off__psa') }}
    group by user_id, off_date
),

capacity_days as (
    select
        employees.employee_id,
        dates.date_day,
        dates.week_start,
        dates.month_start,
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
),

{% for grain in ['week', 'month'] %}
hours_{{ grain }} as (
    select
        employee_id,
        {{ grain }}_start as period_start,
        sum(hours) as total_hours,
        sum(billable_hours) as billable_hours,
        sum(nonbillable_hours) as nonbillable_hours,
        sum(case when is_approved then billable_hours else 0 end) as approved_billable_hours
    from {{ ref('fct_time_entry') }}
    group by employee_id, {{ grain }}_start
),

capacity_{{ grain }} as (
    select employee_id, {{ grain }}_start as period_start, sum(capacity_hours) as capacity_hours
    from capacity_days
    group by employee_id, {{ grain }}_start
),

by_{{ grain }} as (
    select
        '{{ grain }}' as period_grain,
        coalesce(h.employee_id, c.employee_id) as employee_id,
        coalesce(h.period_start, c.period_start) as period_start,
        coalesce(h.total_hours, 0) as total_hours,
        coalesce(h.billable_hours, 0) as billable_hours,
        coalesce(h.nonbillable_hours, 0) as nonbillable_hours,
        coalesce(h.approved_billable_hours, 0) as approved_billable_hours,
        coalesce(c.capacity_hours, 0) as capacity_hours
    from hours_{{ grain }} as h
    full outer join capacity_{{ grain }} as c
        on c.employee_id = h.employee_id and c.period_start = h.period_start
){% if not loop.last %},{% endif %}
{% endfor %}

select
    {{ dbt.concat([
        "periods.period_grain", "'|'", "periods.employee_id", "'|'",
        "cast(periods.period_start as " ~ dbt.type_string() ~ ")",
    ]) }} as utilization_key,
    periods.period_grain,
    cast(periods.period_start as date) as period_start,
    periods.employee_id,
    employees.full_name as employee_name,
    employees.legal_entity_code,
    employees.practice,
    employees.role,
    cast(periods.total_hours as double precision) as total_hours,
    cast(periods.billable_hours as double precision) as billable_hours,
    cast(periods.nonbillable_hours as double precision) as nonbillable_hours,
    cast(periods.approved_billable_hours as double precision) as approved_billable_hours,
    cast(periods.capacity_hours as double precision) as capacity_hours,
    cast(
        case when periods.capacity_hours > 0 then periods.billable_hours / periods.capacity_hours end
        as double precision
    ) as billable_utilization
from (
    select * from by_week
    union all
    select * from by_month
) as periods
left join employees on employees.employee_id = periods.employee_id
