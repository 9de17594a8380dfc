-- Capacity calendar input: leave hours per user and day (one row per Kantata time-off entry).

with

time_off_entries as (

    select * from {{ ref('stg_psa__time_off_entries') }}

),

final as (

    select
        cast(time_off_entry_key as {{ dbt.type_string() }}) as time_off_key,
        cast(source_relation as {{ dbt.type_string() }}) as source_relation,
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(requested_date as date) as off_date,
        cast(hours as double precision) as hours

    from time_off_entries

)

select * from final
