-- What every PSA project (Kantata workspace) matched to an ERP project should hold in its
-- integration custom fields: the ERP's financial codes (the ERP owns them): ERP project id,
-- cost center and legal entity (upper case, as the PSA writes legal entities).
with

projects as (
    select * from {{ ref('dim_project') }}
    where psa_workspace_id is not null and erp_project_record_id is not null
),

workspaces as (
    select source_relation, workspace_id
    from {{ ref('stg_psa__workspaces') }}
)

select
    cast('psa' as {{ dbt.type_string() }}) as target_system,
    cast(workspaces.source_relation as {{ dbt.type_string() }}) as target_connection,
    cast('workspaces' as {{ dbt.type_string() }}) as target_object,
    cast(projects.psa_workspace_id as {{ dbt.type_string() }}) as target_id,
    cast(projects.project_key as {{ dbt.type_string() }}) as canonical_id,
    cast(
        {{ dbt.concat(["projects.erp_system", "'|'", "projects.erp_connection", "'|'",
                       "projects.erp_project_record_id"]) }}
        as {{ dbt.type_string() }}
    ) as source_record_key,
    cast(
        {{ sync_correlation_id("'psa'", 'workspaces.source_relation', "'workspaces'", 'projects.psa_workspace_id',
                               'projects.erp_project_record_id') }}
        as {{ dbt.type_string() }}
    ) as correlation_id,
    cast(projects.erp_project_code as {{ dbt.type_string() }}) as erp_project_id,
    cast(projects.cost_center as {{ dbt.type_string() }}) as cost_center,
    cast(upper(projects.legal_entity_code) as {{ dbt.type_string() }}) as legal_entity
from projects
inner join workspaces on workspaces.workspace_id = projects.psa_workspace_id
