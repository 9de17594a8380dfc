-- NetSuite customers in the common customer-record shape (one row per customer per account),
-- deleted customers included with is_deleted = true.
with

customers as (

    select * from {{ ref('stg_netsuite__customer') }}

),

currencies as (

    select * from {{ ref('stg_netsuite__currency') }}

),

deleted as (

    select distinct source_relation, record_id, deleted_at
    from {{ ref('stg_netsuite__deletedrecord') }}
    where record_type = 'customer'

)

select
    cast('netsuite' as {{ dbt.type_string() }}) as source_system,
    customers.source_relation,
    cast('customer' as {{ dbt.type_string() }}) as source_object,
    customers.customer_id as source_record_id,
    cast(customers.company_name as {{ dbt.type_string() }}) as customer_name,
    cast(customers.tax_id as {{ dbt.type_string() }}) as tax_id_raw,
    cast(customers.bill_country as {{ dbt.type_string() }}) as country_raw,
    cast(
        case when length(trim(customers.bill_country)) = 2 then upper(trim(customers.bill_country)) end
        as {{ dbt.type_string() }}
    ) as country_code,
    cast(customers.website as {{ dbt.type_string() }}) as website_raw,
    cast(customers.email as {{ dbt.type_string() }}) as email,
    cast(customers.bill_city as {{ dbt.type_string() }}) as city,
    customers.parent_customer_id as parent_source_record_id,
    cast(customers.customer_number as {{ dbt.type_string() }}) as erp_customer_number,
    cast(null as {{ dbt.type_string() }}) as erp_customer_number_hint,
    -- NetSuite has no legal entity code: the lead maps erp_subsidiary_id through the seed
    cast(null as {{ dbt.type_string() }}) as legal_entity_code,
    customers.subsidiary_id as erp_subsidiary_id,
    cast(currencies.currency_code as {{ dbt.type_string() }}) as currency_code,
    cast(customers.created_at as timestamp with time zone) as created_at,
    cast(
        coalesce(customers.modified_at, customers.deleted_at, deleted.deleted_at)
        as timestamp with time zone
    ) as modified_at,
    cast(customers.is_deleted or deleted.record_id is not null as boolean) as is_deleted

from customers
left join currencies
    on customers.source_relation = currencies.source_relation
    and customers.currency_id = currencies.currency_id
left join deleted
    on customers.source_relation = deleted.source_relation
    and customers.customer_id = deleted.record_id
