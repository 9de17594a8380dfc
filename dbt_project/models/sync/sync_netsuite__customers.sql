-- What every live NetSuite customer should hold in Conform's custom fields: its canonical customer
-- ID and the customer's CRM account id (the Salesforce Account the CRM masters it under).
with

erp_customers as (
    select * from {{ ref('customer_xref') }}
    where source_system = 'netsuite' and not is_deleted
),

crm_accounts as (
    {{ sync_crm_account_ids() }}
)

select
    cast(erp_customers.source_system as {{ dbt.type_string() }}) as target_system,
    cast(erp_customers.source_relation as {{ dbt.type_string() }}) as target_connection,
    cast(erp_customers.source_object as {{ dbt.type_string() }}) as target_object,
    cast(erp_customers.source_record_id as {{ dbt.type_string() }}) as target_id,
    cast(erp_customers.canonical_customer_id as {{ dbt.type_string() }}) as canonical_id,
    cast(erp_customers.customer_record_key as {{ dbt.type_string() }}) as source_record_key,
    cast(
        {{ sync_correlation_id('erp_customers.source_system', 'erp_customers.source_relation',
                               'erp_customers.source_object', 'erp_customers.source_record_id',
                               'erp_customers.customer_record_key') }}
        as {{ dbt.type_string() }}
    ) as correlation_id,
    cast(erp_customers.canonical_customer_id as {{ dbt.type_string() }}) as conform_id,
    cast(crm_accounts.crm_account_id as {{ dbt.type_string() }}) as crm_account_id
from erp_customers
left join crm_accounts on crm_accounts.canonical_customer_id = erp_customers.canonical_customer_id
