-- What every PSA client (Kantata workspace group) should hold in Conform's integration custom
-- fields: its canonical customer ID ("Conform ID") and the customer's ERP customer number
-- ("ERP Customer Number", the golden one of dim_customer).
with

clients as (
    select * from {{ ref('customer_xref') }}
    where source_system = 'psa' and not is_deleted
),

customers as (
    select canonical_customer_id, erp_customer_number from {{ ref('dim_customer') }}
)

select
    cast(clients.source_system as {{ dbt.type_string() }}) as target_system,
    cast(clients.source_relation as {{ dbt.type_string() }}) as target_connection,
    cast(clients.source_object as {{ dbt.type_string() }}) as target_object,
    cast(clients.source_record_id as {{ dbt.type_string() }}) as target_id,
    cast(clients.canonical_customer_id as {{ dbt.type_string() }}) as canonical_id,
    cast(clients.customer_record_key as {{ dbt.type_string() }}) as source_record_key,
    cast(
        {{ sync_correlation_id('clients.source_system', 'clients.source_relation', 'clients.source_object',
                               'clients.source_record_id', 'clients.customer_record_key') }}
        as {{ dbt.type_string() }}
    ) as correlation_id,
    cast(clients.canonical_customer_id as {{ dbt.type_string() }}) as conform_id,
    cast(customers.erp_customer_number as {{ dbt.type_string() }}) as erp_customer_number
from clients
left join customers on customers.canonical_customer_id = clients.canonical_customer_id
