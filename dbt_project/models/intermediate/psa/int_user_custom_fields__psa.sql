-- The User custom fields the conformed model uses, one row per user.

with

custom_field_values as (

    select * from {{ ref('stg_psa__custom_field_values') }}
    where subject_type = 'User'

),

pivoted as (

    select
        source_relation,
        subject_id as user_id,
        max(case when custom_field_name = 'Employee Number' then nullif(trim(value_text), '') end) as employee_number,
        max(case when custom_field_name = 'Legal Entity' then nullif(trim(value_text), '') end) as legal_entity_raw,
        max(case when custom_field_name = 'Practice' then nullif(trim(value_text), '') end) as practice,
        max(case when custom_field_name = 'Weekly Capacity Hours' then value_number end) as weekly_capacity_hours

    from custom_field_values
    group by source_relation, subject_id

)

select * from pivoted
