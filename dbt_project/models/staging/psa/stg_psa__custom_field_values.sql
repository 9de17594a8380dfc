with

source as (

    select * from {{ source('raw_psa', 'custom_field_values') }}

),

renamed as (

    select
        ----------  ids
        -- one value per subject and field name (Kantata upserts per subject and field)
        {{ dbt.concat([
            "_source_connection", "'|'", "subject_type", "'|'", "subject_id", "'|'", "custom_field_name"
        ]) }} as custom_field_value_key,
        cast(id as {{ dbt.type_string() }}) as custom_field_value_id,
        cast(custom_field_id as {{ dbt.type_string() }}) as custom_field_id,
        cast(subject_id as {{ dbt.type_string() }}) as subject_id,

        ----------  strings
        cast('psa' as {{ dbt.type_string() }}) as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,
        cast(subject_type as {{ dbt.type_string() }}) as subject_type,
        cast(custom_field_name as {{ dbt.type_string() }}) as custom_field_name,
        cast(type as {{ dbt.type_string() }}) as value_type,
        cast(value as {{ dbt.type_string() }}) as value_text,
        cast(display_value as {{ dbt.type_string() }}) as display_value,

        ----------  numerics
        cast(value_number as double precision) as value_number,

        ----------  dates
        cast(value_date as date) as value_date,

        ----------  timestamps
        cast(created_at as timestamp with time zone) as created_at,
        cast(updated_at as timestamp with time zone) as updated_at

    from source

)

select * from renamed
