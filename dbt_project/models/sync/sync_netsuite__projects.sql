-- What every NetSuite project matched to a PSA workspace should hold in its custom field: the PSA
-- project code (the PSA owns the delivery structure and its codes).
with

projects as (
    select * from {{ ref('dim_project') }}
    where erp_system = 'netsuite' and psa_project_code is not null
)

select
    cast(erp_system as {{ dbt.type_string() }}) as target_system,
    cast(erp_connection as {{ dbt.type_string() }}) as target_connection,
    cast('job' as {{ dbt.type_string() }}) as target_object,
    cast(erp_project_record_id as {{ dbt.type_string() }}) as target_id,
    cast(project_key as {{ dbt.type_string() }}) as canonical_id,
    cast(project_key as {{ dbt.type_string() }}) as source_record_key,
    cast(
        {{ sync_correlation_id('erp_system', 'erp_connection', "'job'", 'erp_project_record_id', 'project_key') }}
        as {{ dbt.type_string() }}
    ) as correlation_id,
    cast(psa_project_code as {{ dbt.type_string() }}) as psa_project_code
from projects
