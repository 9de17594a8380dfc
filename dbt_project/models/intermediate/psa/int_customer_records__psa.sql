-- Common shape 1: PSA clients (workspace groups) as customer records.
-- Kantata holds no tax id, country, hierarchy or currency for a group: those stay null.

with

workspace_groups as (

    select * from {{ ref('stg_psa__workspace_groups') }}

),

group_custom_fields as (

    select * from {{ ref('int_workspace_group_custom_fields__psa') }}

),

final as (

    select
        cast(g.source_system as {{ dbt.type_string() }}) as source_system,
        cast(g.source_relation as {{ dbt.type_string() }}) as source_relation,
        cast('workspace_groups' as {{ dbt.type_string() }}) as source_object,
        cast(g.workspace_group_id as {{ dbt.type_string() }}) as source_record_id,
        cast(g.workspace_group_name as {{ dbt.type_string() }}) as customer_name,
        cast(null as {{ dbt.type_string() }}) as tax_id_raw,
        cast(null as {{ dbt.type_string() }}) as country_raw,
        cast(null as {{ dbt.type_string() }}) as country_code,
        cast(nullif(trim(g.website), '') as {{ dbt.type_string() }}) as website_raw,
        cast(lower(nullif(trim(g.email), '')) as {{ dbt.type_string() }}) as email,
        -- the address is free text 'street, city': the city is its last comma-separated part
        cast(
            case
                when g.address like '%,%'
                    then nullif(trim(reverse(split_part(reverse(g.address), ',', 1))), '')
            end
            as {{ dbt.type_string() }}
        ) as city,
        cast(null as {{ dbt.type_string() }}) as parent_source_record_id,
        cast(null as {{ dbt.type_string() }}) as erp_customer_number,
        cast(cf.erp_customer_number as {{ dbt.type_string() }}) as erp_customer_number_hint,
        cast(null as {{ dbt.type_string() }}) as legal_entity_code,
        cast(null as {{ dbt.type_string() }}) as erp_subsidiary_id,
        cast(null as {{ dbt.type_string() }}) as currency_code,
        cast(g.created_at as timestamp with time zone) as created_at,
        cast(g.updated_at as timestamp with time zone) as modified_at,
        cast(false as boolean) as is_deleted

    from workspace_groups as g
    left join group_custom_fields as cf
        on g.source_relation = cf.source_relation
        and g.workspace_group_id = cf.workspace_group_id

)

select * from final
