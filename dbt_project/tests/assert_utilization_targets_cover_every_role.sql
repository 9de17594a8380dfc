-- Every employee's role has a billable-utilization target between 0 and 1 (seed
-- utilization_targets): the executive report weighs targets by capacity, and an employee
-- whose role has none would drop out of the target line. Warn: a role new in the PSA should
-- not stop the build, only be configured.
{{ config(severity='warn') }}

select
    employee.role,
    target.target_billable_utilization
from {{ ref('dim_employee') }} as employee
left join {{ ref('utilization_targets') }} as target
    on employee.role = target.role
where
    target.role is null
    or target.target_billable_utilization < 0
    or target.target_billable_utilization > 1
