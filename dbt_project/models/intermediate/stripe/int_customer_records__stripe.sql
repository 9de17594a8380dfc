-- Common shape 1: one customer record per Stripe customer (deleted ones included).
-- Stripe objects carry no modification stamp: modified_at is the newest customer.* event
-- about the customer, else its creation time.
with

customers as (

    select * from {{ ref('stg_stripe__customers') }}

),

events as (

    select * from {{ ref('stg_stripe__events') }}

),

customer_changes as (

    select
        source_relation,
        object_id as customer_id,
        max(created_at) as last_event_at

    from events
    where object_type = 'customer'
    group by 1, 2

),

final as (

    select
        cast(customers.source_system as {{ dbt.type_string() }}) as source_system,
        cast(customers.source_relation as {{ dbt.type_string() }}) as source_relation,
        cast('customers' as {{ dbt.type_string() }}) as source_object,
        cast(customers.customer_id as {{ dbt.type_string() }}) as source_record_id,
        cast(customers.customer_name as {{ dbt.type_string() }}) as customer_name,
        cast(null as {{ dbt.type_string() }}) as tax_id_raw,
        cast(customers.address_country as {{ dbt.type_string() }}) as country_raw,
        cast(nullif(trim(customers.address_country), '') as {{ dbt.type_string() }}) as country_code,
        cast(null as {{ dbt.type_string() }}) as website_raw,
        cast(customers.email as {{ dbt.type_string() }}) as email,
        cast(customers.address_city as {{ dbt.type_string() }}) as city,
        cast(null as {{ dbt.type_string() }}) as parent_source_record_id,
        cast(null as {{ dbt.type_string() }}) as erp_customer_number,
        cast(nullif(trim(customers.erp_customer_id), '') as {{ dbt.type_string() }}) as erp_customer_number_hint,
        cast(null as {{ dbt.type_string() }}) as legal_entity_code,
        cast(null as {{ dbt.type_string() }}) as erp_subsidiary_id,
        cast(customers.currency_code as {{ dbt.type_string() }}) as currency_code,
        cast(customers.created_at as timestamp with time zone) as created_at,
        cast(
            case
                when customer_changes.last_event_at > customers.created_at
                    then customer_changes.last_event_at
                else customers.created_at
            end
            as timestamp with time zone
        ) as modified_at,
        cast(customers.is_deleted as boolean) as is_deleted

    from customers
    left join customer_changes
        on customers.source_relation = customer_changes.source_relation
        and customers.customer_id = customer_changes.customer_id

)

select * from final
