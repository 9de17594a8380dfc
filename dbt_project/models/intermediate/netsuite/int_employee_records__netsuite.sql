-- NetSuite employees in the common employee-record shape; deleted employees left out.
-- NetSuite holds no capacity or rates for them (those come from the PSA).
with

employees as (

    select * from {{ ref('stg_netsuite__employee') }}
    where not is_deleted

),

departments as (

    select * from {{ ref('stg_netsuite__department') }}

),

deleted as (

    select distinct source_relation, record_id
    from {{ ref('stg_netsuite__deletedrecord') }}
    where record_type = 'employee'

)

select
    cast('netsuite' as {{ dbt.type_string() }}) as source_system,
    employees.source_relation,
    employees.employee_id as source_record_id,
    cast(employees.employee_number as {{ dbt.type_string() }}) as employee_number,
    cast(
        trim({{ dbt.concat(["coalesce(employees.first_name, '')", "' '", "coalesce(employees.last_name, '')"]) }})
        as {{ dbt.type_string() }}
    ) as full_name,
    cast(lower(employees.email) as {{ dbt.type_string() }}) as email,
    cast(null as {{ dbt.type_string() }}) as legal_entity_code,
    employees.subsidiary_id as erp_subsidiary_id,
    cast(departments.practice as {{ dbt.type_string() }}) as practice,
    cast(employees.title as {{ dbt.type_string() }}) as role,
    cast(null as double precision) as weekly_capacity_hours,
    cast(null as double precision) as bill_rate,
    cast(null as double precision) as cost_rate,
    cast(null as {{ dbt.type_string() }}) as rate_currency_code,
    cast(not employees.is_inactive as boolean) as is_active,
    cast(null as timestamp with time zone) as hired_at

from employees
left join departments
    on employees.source_relation = departments.source_relation
    and employees.department_id = departments.department_id
left join deleted
    on employees.source_relation = deleted.source_relation
    and employees.employee_id = deleted.record_id
where deleted.record_id is null
