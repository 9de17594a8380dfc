-- Dynamics projects (ProjectsV2) in the common project-record shape.
-- DefaultDimensionDisplayValue is '<CostCenter>-<Practice>' ('CC-US01-TEC-TEC'): the cost
-- center is everything before the last '-', the practice code the last segment.

with

projects as (

    select * from {{ ref('stg_dynamics__projects_v2') }}

),

legal_entities as (

    select * from {{ ref('stg_dynamics__legal_entities') }}

),

dimensions as (

    select
        projects.*,
        case
            when default_dimension_display_value is not null
                and strpos(default_dimension_display_value, '-') > 0
                then strpos(reverse(default_dimension_display_value), '-')
        end as last_dash_from_end
    from projects

)

select
    cast('dynamics' as {{ dbt.type_string() }}) as source_system,
    cast(dimensions.source_relation as {{ dbt.type_string() }}) as source_relation,
    cast({{ dynamics_key(['dimensions.data_area_id', 'dimensions.project_id']) }} as {{ dbt.type_string() }}) as source_record_id,
    cast(dimensions.project_id as {{ dbt.type_string() }}) as project_code,
    cast(dimensions.project_name as {{ dbt.type_string() }}) as project_name,
    cast(
        case
            when dimensions.customer_account is not null
                then {{ dynamics_key(['dimensions.data_area_id', 'dimensions.customer_account']) }}
        end as {{ dbt.type_string() }}
    ) as customer_source_record_id,
    cast(null as {{ dbt.type_string() }}) as erp_project_ref,
    cast(dimensions.psa_project_code as {{ dbt.type_string() }}) as psa_project_code_ref,
    cast(dimensions.data_area_id as {{ dbt.type_string() }}) as legal_entity_code,
    cast(null as {{ dbt.type_string() }}) as erp_subsidiary_id,
    cast(
        case dimensions.project_type
            when 'TimeMaterial' then 'time_and_materials'
            when 'Time' then 'non_billable'
            when 'FixedPrice' then 'fixed_fee'
            when 'Internal' then 'non_billable'
            when 'Cost' then 'non_billable'
            when 'Investment' then 'non_billable'
        end as {{ dbt.type_string() }}
    ) as billing_method,
    cast(
        case
            when dimensions.last_dash_from_end is not null
                then left(
                    dimensions.default_dimension_display_value,
                    length(dimensions.default_dimension_display_value) - dimensions.last_dash_from_end
                )
        end as {{ dbt.type_string() }}
    ) as cost_center,
    -- practice code ('TEC'): the dimension's last segment, else the project group
    cast(
        coalesce(
            case
                when dimensions.last_dash_from_end is not null
                    then right(dimensions.default_dimension_display_value, dimensions.last_dash_from_end - 1)
            end,
            dimensions.project_group
        ) as {{ dbt.type_string() }}
    ) as practice,
    cast(dimensions.project_stage as {{ dbt.type_string() }}) as status_raw,
    cast(coalesce(dimensions.project_stage <> 'Finished', true) as boolean) as is_active,
    cast(dimensions.start_date as date) as start_date,
    cast(dimensions.end_date as date) as end_date,
    -- ProjectsV2 has no close date: a Finished project's last modification is its close
    cast(
        case when dimensions.project_stage = 'Finished' then dimensions.modified_at end
        as timestamp with time zone
    ) as closed_at,
    -- projects are kept in their legal entity's accounting currency
    cast(legal_entities.accounting_currency_code as {{ dbt.type_string() }}) as currency_code,
    cast(dimensions.modified_at as timestamp with time zone) as modified_at
from dimensions
left join legal_entities
    on dimensions.source_relation = legal_entities.source_relation
    and dimensions.data_area_id = legal_entities.legal_entity_id
