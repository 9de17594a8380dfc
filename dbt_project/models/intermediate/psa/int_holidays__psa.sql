-- Capacity calendar input: public holidays per user and day, from the holiday calendars each
-- user follows (memberships x calendar entries).

with

memberships as (

    select * from {{ ref('stg_psa__holiday_calendar_memberships') }}

),

entries as (

    select * from {{ ref('stg_psa__holiday_calendar_entries') }}

),

final as (

    select
        {{ dbt.concat([
            "m.source_relation", "'|'", "m.holiday_calendar_membership_id", "'|'", "e.holiday_calendar_entry_id"
        ]) }} as holiday_key,
        cast(m.source_relation as {{ dbt.type_string() }}) as source_relation,
        cast(m.user_id as {{ dbt.type_string() }}) as user_id,
        cast(m.holiday_calendar_id as {{ dbt.type_string() }}) as holiday_calendar_id,
        cast(e.holiday_date as date) as holiday_date,
        cast(e.holiday_name as {{ dbt.type_string() }}) as holiday_name,
        cast(e.hours as double precision) as hours

    from memberships as m
    inner join entries as e
        on m.source_relation = e.source_relation
        and m.holiday_calendar_id = e.holiday_calendar_id

)

select * from final
