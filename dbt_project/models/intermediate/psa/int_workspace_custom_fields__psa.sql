-- The Workspace custom fields the conformed model uses, one row per workspace (pivoted with
-- conditional aggregation; blank values count as missing).

with

custom_field_values as (

    select * from {{ ref('stg_psa__custom_field_values') }}
    where subject_type = 'Workspace'

),

pivoted as (

    select
        source_relation,
        subject_id as workspace_id,
        max(case when custom_field_name = 'Project Code' then nullif(trim(value_text), '') end) as project_code,
        max(case when custom_field_name = 'Billing Method' then nullif(trim(value_text), '') end) as billing_method_raw,
        max(case when custom_field_name = 'Practice' then nullif(trim(value_text), '') end) as practice,
        max(case when custom_field_name = 'Legal Entity' then nullif(trim(value_text), '') end) as legal_entity_raw,
        max(case when custom_field_name = 'ERP Project ID' then nullif(trim(value_text), '') end) as erp_project_id,
        max(case when custom_field_name = 'Cost Center' then nullif(trim(value_text), '') end) as cost_center

    from custom_field_values
    group by source_relation, subject_id

)

select * from pivoted
