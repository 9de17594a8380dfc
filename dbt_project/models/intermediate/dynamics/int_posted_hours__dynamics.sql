-- Hours posted to Dynamics projects (ProjectHourTransactions), one row per transaction.

with

hours as (

    select * from {{ ref('stg_dynamics__project_hour_transactions') }}

)

select
    cast('dynamics' as {{ dbt.type_string() }}) as source_system,
    cast(source_relation as {{ dbt.type_string() }}) as source_relation,
    cast({{ dynamics_key(['data_area_id', 'transaction_id']) }} as {{ dbt.type_string() }}) as posting_id,
    cast({{ dynamics_key(['data_area_id', 'project_id']) }} as {{ dbt.type_string() }}) as project_source_record_id,
    cast(psa_time_entry_id as {{ dbt.type_string() }}) as psa_time_entry_id,
    -- Worker is empty for time of employees of another ERP (intercompany)
    cast(worker_personnel_number as {{ dbt.type_string() }}) as employee_number,
    cast(data_area_id as {{ dbt.type_string() }}) as legal_entity_code,
    cast(project_date as date) as work_date,
    cast(hours as double precision) as hours,
    cast(is_billable as boolean) as is_billable,
    cast(sales_price as double precision) as bill_rate,
    cast(cost_price as double precision) as cost_rate,
    cast(currency_code as {{ dbt.type_string() }}) as currency_code,
    -- the entity has no posting date: its modification stamp is the posting
    cast(modified_at as timestamp with time zone) as posted_at
from hours
