-- Common shape 2: PSA workspaces (client and internal projects) as project records, with the
-- Workspace custom fields pivoted on.

with

workspaces as (

    select * from {{ ref('stg_psa__workspaces') }}

),

workspace_custom_fields as (

    select * from {{ ref('int_workspace_custom_fields__psa') }}

),

final as (

    select
        cast(w.source_system as {{ dbt.type_string() }}) as source_system,
        cast(w.source_relation as {{ dbt.type_string() }}) as source_relation,
        cast(w.workspace_id as {{ dbt.type_string() }}) as source_record_id,
        cast(cf.project_code as {{ dbt.type_string() }}) as project_code,
        cast(w.workspace_title as {{ dbt.type_string() }}) as project_name,
        cast(w.workspace_group_id as {{ dbt.type_string() }}) as customer_source_record_id,
        cast(cf.erp_project_id as {{ dbt.type_string() }}) as erp_project_ref,
        cast(null as {{ dbt.type_string() }}) as psa_project_code_ref,
        cast(lower(cf.legal_entity_raw) as {{ dbt.type_string() }}) as legal_entity_code,
        cast(null as {{ dbt.type_string() }}) as erp_subsidiary_id,
        cast(
            case lower(replace(replace(cf.billing_method_raw, '-', ' '), '&', 'and'))
                when 'time and materials' then 'time_and_materials'
                when 'time and material' then 'time_and_materials'
                when 't and m' then 'time_and_materials'
                when 'fixed fee' then 'fixed_fee'
                when 'fixed price' then 'fixed_fee'
                when 'non billable' then 'non_billable'
                when 'internal' then 'non_billable'
            end
            as {{ dbt.type_string() }}
        ) as billing_method,
        cast(cf.cost_center as {{ dbt.type_string() }}) as cost_center,
        cast(cf.practice as {{ dbt.type_string() }}) as practice,
        cast(w.status_message as {{ dbt.type_string() }}) as status_raw,
        -- Kantata status keys 400 and above are completed / closed states
        cast(
            not (coalesce(w.is_archived, false) or coalesce(w.status_key, 0) >= 400)
            as boolean
        ) as is_active,
        cast(w.start_date as date) as start_date,
        cast(w.due_date as date) as end_date,
        cast(null as timestamp with time zone) as closed_at,
        cast(w.currency_code as {{ dbt.type_string() }}) as currency_code,
        cast(w.updated_at as timestamp with time zone) as modified_at

    from workspaces as w
    left join workspace_custom_fields as cf
        on w.source_relation = cf.source_relation
        and w.workspace_id = cf.workspace_id

)

select * from final
