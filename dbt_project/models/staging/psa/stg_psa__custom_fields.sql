with

source as (

    select * from {{ source('raw_psa', 'custom_fields') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["_source_connection", "'|'", "id"]) }} as custom_field_key,
        cast(id as {{ dbt.type_string() }}) as custom_field_id,

        ----------  strings
        cast('psa' as {{ dbt.type_string() }}) as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,
        cast(name as {{ dbt.type_string() }}) as custom_field_name,
        cast(subject_type as {{ dbt.type_string() }}) as subject_type,
        cast(value_type as {{ dbt.type_string() }}) as value_type,

        ----------  timestamps
        cast(created_at as timestamp with time zone) as created_at,
        cast(updated_at as timestamp with time zone) as updated_at

    from source

)

select * from renamed
