with

source as (

    select * from {{ source('raw_dynamics', 'projects_v2') }}

),

renamed as (

    select

        ----------  ids
        {{ dynamics_key(['_source_connection', 'lower(data_area_id)', 'project_id']) }} as project_key,
        lower(data_area_id) as data_area_id,
        cast(project_id as {{ dbt.type_string() }}) as project_id,
        cast(customer_account as {{ dbt.type_string() }}) as customer_account,
        cast(project_contract_id as {{ dbt.type_string() }}) as project_contract_id,
        cast(psa_project_code as {{ dbt.type_string() }}) as psa_project_code,

        ----------  strings
        cast('dynamics' as {{ dbt.type_string() }}) as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,
        cast(project_name as {{ dbt.type_string() }}) as project_name,
        cast(project_type as {{ dbt.type_string() }}) as project_type,
        cast(project_stage as {{ dbt.type_string() }}) as project_stage,
        cast(project_group as {{ dbt.type_string() }}) as project_group,
        cast(default_dimension_display_value as {{ dbt.type_string() }}) as default_dimension_display_value,

        ----------  dates
        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date,

        ----------  timestamps
        cast(modified_date_time as timestamp with time zone) as modified_at

    from source

)

select * from renamed
