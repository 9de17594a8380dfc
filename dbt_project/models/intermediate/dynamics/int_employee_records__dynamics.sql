-- Dynamics workers (EmployeesV2) in the common employee-record shape. EmployeesV2 holds no
-- practice, role, capacity, rates, status or hire date: those columns are null here and come
-- from the PSA when the lead merges employees.

with

employees as (

    select * from {{ ref('stg_dynamics__employees_v2') }}

)

select
    cast('dynamics' as {{ dbt.type_string() }}) as source_system,
    cast(source_relation as {{ dbt.type_string() }}) as source_relation,
    cast(personnel_number as {{ dbt.type_string() }}) as source_record_id,
    cast(personnel_number as {{ dbt.type_string() }}) as employee_number,
    cast(full_name as {{ dbt.type_string() }}) as full_name,
    cast(lower(primary_contact_email) as {{ dbt.type_string() }}) as email,
    cast(employment_legal_entity_id as {{ dbt.type_string() }}) as legal_entity_code,
    cast(null as {{ dbt.type_string() }}) as erp_subsidiary_id,
    cast(null as {{ dbt.type_string() }}) as practice,
    cast(null as {{ dbt.type_string() }}) as role,
    cast(null as double precision) as weekly_capacity_hours,
    cast(null as double precision) as bill_rate,
    cast(null as double precision) as cost_rate,
    cast(null as {{ dbt.type_string() }}) as rate_currency_code,
    cast(null as boolean) as is_active,
    cast(null as timestamp with time zone) as hired_at,
    cast(modified_at as timestamp with time zone) as modified_at
from employees
