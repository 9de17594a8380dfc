-- Read-back verification of the reverse sync: for every identifier Conform pushes (canonical
-- customer IDs, CRM account ids, ERP project ids, PSA project codes, ERP invoice numbers), the
-- value the sync models expect beside the value the last ingestion read back from the target.
-- After a sync and the next ingestion every row should match.
{% set id_fields = [
    ('sync_salesforce__accounts', 'conform_id'),
    ('sync_psa__clients', 'conform_id'),
    ('sync_psa__projects', 'erp_project_id'),
    ('sync_netsuite__customers', 'conform_id'),
    ('sync_netsuite__customers', 'crm_account_id'),
    ('sync_netsuite__projects', 'psa_project_code'),
    ('sync_dynamics__customers', 'conform_id'),
    ('sync_dynamics__customers', 'crm_account_id'),
    ('sync_dynamics__projects', 'psa_project_code'),
    ('sync_stripe__customers', 'conform_id'),
    ('sync_stripe__invoices', 'erp_invoice_number')] %}
{#- (system, object, id field, model the value is read back from, its id expression, its column) -#}
{% set read_backs = [
    ('salesforce', 'Account', 'conform_id', 'stg_salesforce__account', 'account_id', 'conform_id'),
    ('psa', 'workspace_groups', 'conform_id', 'int_workspace_group_custom_fields__psa', 'workspace_group_id',
     'conform_id'),
    ('psa', 'workspaces', 'erp_project_id', 'int_workspace_custom_fields__psa', 'workspace_id', 'erp_project_id'),
    ('netsuite', 'customer', 'conform_id', 'stg_netsuite__customer', 'customer_id', 'conform_id'),
    ('netsuite', 'customer', 'crm_account_id', 'stg_netsuite__customer', 'customer_id', 'crm_account_id'),
    ('netsuite', 'job', 'psa_project_code', 'stg_netsuite__job', 'job_id', 'psa_project_code'),
    ('dynamics', 'CustomersV3', 'conform_id', 'stg_dynamics__customers_v3',
     dynamics_key(['data_area_id', 'customer_account']), 'conform_customer_id'),
    ('dynamics', 'CustomersV3', 'crm_account_id', 'stg_dynamics__customers_v3',
     dynamics_key(['data_area_id', 'customer_account']), 'crm_account_id'),
    ('dynamics', 'ProjectsV2', 'psa_project_code', 'stg_dynamics__projects_v2',
     dynamics_key(['data_area_id', 'project_id']), 'psa_project_code'),
    ('stripe', 'customers', 'conform_id', 'stg_stripe__customers', 'customer_id', 'conform_customer_id'),
    ('stripe', 'invoices', 'erp_invoice_number', 'stg_stripe__invoices', 'invoice_id', 'erp_invoice_number')] %}
with

expected as (
    {% for model, field in id_fields %}
    select
        target_system,
        target_connection,
        target_object,
        target_id,
        cast('{{ field }}' as {{ dbt.type_string() }}) as id_field,
        canonical_id,
        correlation_id,
        {{ field }} as expected_value
    from {{ ref(model) }}
    where {{ field }} is not null
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

read_back as (
    {% for system, object, id_field, model, id_expr, column in read_backs %}
    select
        '{{ system }}' as target_system,
        source_relation as target_connection,
        '{{ object }}' as target_object,
        {{ id_expr }} as target_id,
        '{{ id_field }}' as id_field,
        {{ column }} as read_back_value
    from {{ ref(model) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select
    cast(
        {{ dbt.concat(["expected.target_system", "'|'", "expected.target_connection", "'|'", "expected.target_object",
                       "'|'", "expected.target_id", "'|'", "expected.id_field"]) }}
        as {{ dbt.type_string() }}
    ) as reconciliation_key,
    cast(expected.target_system as {{ dbt.type_string() }}) as target_system,
    cast(expected.target_connection as {{ dbt.type_string() }}) as target_connection,
    cast(expected.target_object as {{ dbt.type_string() }}) as target_object,
    cast(expected.target_id as {{ dbt.type_string() }}) as target_id,
    cast(expected.id_field as {{ dbt.type_string() }}) as id_field,
    cast(expected.canonical_id as {{ dbt.type_string() }}) as canonical_id,
    cast(expected.expected_value as {{ dbt.type_string() }}) as expected_value,
    cast(read_back.read_back_value as {{ dbt.type_string() }}) as read_back_value,
    cast(coalesce(read_back.read_back_value = expected.expected_value, false) as boolean) as matches,
    cast(expected.correlation_id as {{ dbt.type_string() }}) as correlation_id
from expected
left join read_back
    on read_back.target_system = expected.target_system
        and read_back.target_connection = expected.target_connection
        and read_back.target_object = expected.target_object
        and read_back.target_id = expected.target_id
        and read_back.id_field = expected.id_field
