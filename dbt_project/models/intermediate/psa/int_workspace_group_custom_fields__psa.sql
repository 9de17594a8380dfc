-- The WorkspaceGroup (client) custom fields the conformed model uses, one row per group.

with

custom_field_values as (

    select * from {{ ref('stg_psa__custom_field_values') }}
    where subject_type = 'WorkspaceGroup'

),

pivoted as (

    select
        source_relation,
        subject_id as workspace_group_id,
        max(case when custom_field_name = 'Conform ID' then nullif(trim(value_text), '') end) as conform_id,
        max(case when custom_field_name = 'ERP Customer Number' then nullif(trim(value_text), '') end) as erp_customer_number

    from custom_field_values
    group by source_relation, subject_id

)

select * from pivoted
