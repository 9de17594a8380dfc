with

source as (

    select * from {{ source('raw_dynamics', 'employees_v2') }}

),

renamed as (

    select

        ----------  ids
        {{ dynamics_key(['_source_connection', 'personnel_number']) }} as employee_key,
        cast(personnel_number as {{ dbt.type_string() }}) as personnel_number,
        lower(employment_legal_entity_id) as employment_legal_entity_id,

        ----------  strings
        cast('dynamics' as {{ dbt.type_string() }}) as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,
        cast(first_name as {{ dbt.type_string() }}) as first_name,
        cast(last_name as {{ dbt.type_string() }}) as last_name,
        cast(name as {{ dbt.type_string() }}) as full_name,
        cast(primary_contact_email as {{ dbt.type_string() }}) as primary_contact_email,

        ----------  timestamps
        cast(modified_date_time as timestamp with time zone) as modified_at

    from source

)

select * from renamed
