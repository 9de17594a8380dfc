with

source as (

    select * from {{ source('raw_psa', 'time_off_entries') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["_source_connection", "'|'", "id"]) }} as time_off_entry_key,
        cast(id as {{ dbt.type_string() }}) as time_off_entry_id,
        cast(user_id as {{ dbt.type_string() }}) as user_id,

        ----------  strings
        cast('psa' as {{ dbt.type_string() }}) as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,

        ----------  numerics
        cast(hours as double precision) as hours,

        ----------  dates
        cast(requested_date as date) as requested_date,

        ----------  timestamps
        cast(created_at as timestamp with time zone) as created_at,
        cast(updated_at as timestamp with time zone) as updated_at

    from source

)

select * from renamed
