-- Grain: employee x period (period_grain 'week' or 'month'). Billable utilization =
-- billable hours / capacity hours; capacity = standard hours per working day (weekly capacity
-- / 5) on weekdays that are not the employee's public holidays, less approved time off,
-- counted from the employee's first logged day to the last while active (int_capacity_calendar).
with employees as (
    select employee_id, full_name, legal_entity_code, practice, role
    from {{ ref('dim_employee') }}
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
    from {{ ref('int_capacity_calendar') }}
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
