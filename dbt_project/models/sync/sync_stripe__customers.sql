-- What every live Stripe customer should hold in its metadata: the canonical customer ID
-- (metadata[conform_customer_id]).
with

stripe_customers as (
    select * from {{ ref('customer_xref') }}
    where source_system = 'stripe' and not is_deleted
)

select
    cast(source_system as {{ dbt.type_string() }}) as target_system,
    cast(source_relation as {{ dbt.type_string() }}) as target_connection,
    cast(source_object as {{ dbt.type_string() }}) as target_object,
    cast(source_record_id as {{ dbt.type_string() }}) as target_id,
    cast(canonical_customer_id as {{ dbt.type_string() }}) as canonical_id,
    cast(customer_record_key as {{ dbt.type_string() }}) as source_record_key,
    cast(
        {{ sync_correlation_id('source_system', 'source_relation', 'source_object', 'source_record_id',
                               'customer_record_key') }}
        as {{ dbt.type_string() }}
    ) as correlation_id,
    cast(canonical_customer_id as {{ dbt.type_string() }}) as conform_id
from stripe_customers
