with

source as (

    select * from {{ source('raw_psa', 'holiday_calendar_memberships') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["_source_connection", "'|'", "id"]) }} as holiday_calendar_membership_key,
        cast(id as {{ dbt.type_string() }}) as holiday_calendar_membership_id,
        cast(holiday_calendar_id as {{ dbt.type_string() }}) as holiday_calendar_id,
        cast(user_id as {{ dbt.type_string() }}) as user_id,

        ----------  strings
        cast('psa' as {{ dbt.type_string() }}) as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,

        ----------  timestamps
        cast(created_at as timestamp with time zone) as created_at,
        cast(updated_at as timestamp with time zone) as updated_at

    from source

)

select * from renamed
