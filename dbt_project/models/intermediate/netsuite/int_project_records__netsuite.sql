-- NetSuite jobs (projects) in the common project-record shape; deleted jobs left out.
with

jobs as (

    select * from {{ ref('stg_netsuite__job') }}
    where not is_deleted

),

statuses as (

    select * from {{ ref('stg_netsuite__jobstatus') }}

),

departments as (

    select * from {{ ref('stg_netsuite__department') }}

),

currencies as (

    select * from {{ ref('stg_netsuite__currency') }}

),

deleted as (

    select distinct source_relation, record_id
    from {{ ref('stg_netsuite__deletedrecord') }}
    where record_type = 'job'

),

joined as (

    select
        jobs.*,
        statuses.job_status_name,
        departments.cost_center_code,
        departments.practice,
        currencies.currency_code,
        lower(trim(jobs.billing_method_raw)) as billing_method_lower,
        lower(trim(statuses.job_status_name)) = 'closed' as is_closed
    from jobs
    left join statuses
        on jobs.source_relation = statuses.source_relation
        and jobs.job_status_id = statuses.job_status_id
    left join departments
        on jobs.source_relation = departments.source_relation
        and jobs.department_id = departments.department_id
    left join currencies
        on jobs.source_relation = currencies.source_relation
        and jobs.currency_id = currencies.currency_id
    left join deleted
        on jobs.source_relation = deleted.source_relation
        and jobs.job_id = deleted.record_id
    where deleted.record_id is null

)

select
    cast('netsuite' as {{ dbt.type_string() }}) as source_system,
    source_relation,
    job_id as source_record_id,
    cast(project_number as {{ dbt.type_string() }}) as project_code,
    cast(project_name as {{ dbt.type_string() }}) as project_name,
    customer_id as customer_source_record_id,
    cast(null as {{ dbt.type_string() }}) as erp_project_ref,
    cast(psa_project_code as {{ dbt.type_string() }}) as psa_project_code_ref,
    cast(null as {{ dbt.type_string() }}) as legal_entity_code,
    subsidiary_id as erp_subsidiary_id,
    cast(
        case
            when billing_method_lower in ('time and materials', 'time & materials', 't&m', 'time_and_materials')
                then 'time_and_materials'
            when billing_method_lower in ('fixed fee', 'fixed price', 'fixed_fee')
                then 'fixed_fee'
            when billing_method_lower in ('non-billable', 'non billable', 'internal', 'non_billable')
                then 'non_billable'
        end
        as {{ dbt.type_string() }}
    ) as billing_method,
    cast(cost_center_code as {{ dbt.type_string() }}) as cost_center,
    cast(practice as {{ dbt.type_string() }}) as practice,
    cast(job_status_name as {{ dbt.type_string() }}) as status_raw,
    cast(not coalesce(is_closed, false) as boolean) as is_active,
    cast(start_date as date) as start_date,
    cast(coalesce(projected_end_date, end_date) as date) as end_date,
    -- NetSuite holds the close date only: midnight UTC of it
    cast(
        case
            when is_closed and end_date is not null
                then {{ dbt.concat(["cast(end_date as " ~ dbt.type_string() ~ ")", "' 00:00:00+00'"]) }}
        end
        as timestamp with time zone
    ) as closed_at,
    cast(currency_code as {{ dbt.type_string() }}) as currency_code,
    cast(modified_at as timestamp with time zone) as modified_at

from joined
