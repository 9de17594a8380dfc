with

source as (

    select * from {{ source('raw_psa', 'holiday_calendars') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["_source_connection", "'|'", "id"]) }} as holiday_calendar_key,
        cast(id as {{ dbt.type_string() }}) as holiday_calendar_id,

        ----------  strings
        cast('psa' as {{ dbt.type_string() }}) as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,
        cast(name as {{ dbt.type_string() }}) as holiday_calendar_name,

        ----------  timestamps
        cast(created_at as timestamp with time zone) as created_at,
        cast(updated_at as timestamp with time zone) as updated_at

    from source

)

select * from renamed
