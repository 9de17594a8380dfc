-- Dynamics customer accounts (CustomersV3) in the common customer-record shape.
-- source_record_id = '<dataareaid>|<CustomerAccount>' (the simulator truth's source_id).

with

customers as (

    select * from {{ ref('stg_dynamics__customers_v3') }}

)

select
    cast('dynamics' as {{ dbt.type_string() }}) as source_system,
    cast(source_relation as {{ dbt.type_string() }}) as source_relation,
    cast('CustomersV3' as {{ dbt.type_string() }}) as source_object,
    cast({{ dynamics_key(['data_area_id', 'customer_account']) }} as {{ dbt.type_string() }}) as source_record_id,
    cast(organization_name as {{ dbt.type_string() }}) as customer_name,
    cast(tax_exempt_number as {{ dbt.type_string() }}) as tax_id_raw,
    cast(address_country_region_id as {{ dbt.type_string() }}) as country_raw,
    cast(address_country_region_iso_code as {{ dbt.type_string() }}) as country_code,
    cast(primary_contact_url as {{ dbt.type_string() }}) as website_raw,
    cast(primary_contact_email as {{ dbt.type_string() }}) as email,
    cast(address_city as {{ dbt.type_string() }}) as city,
    cast(
        case
            when invoice_account is not null and invoice_account <> customer_account
                then {{ dynamics_key(['data_area_id', 'invoice_account']) }}
        end as {{ dbt.type_string() }}
    ) as parent_source_record_id,
    cast(customer_account as {{ dbt.type_string() }}) as erp_customer_number,
    cast(null as {{ dbt.type_string() }}) as erp_customer_number_hint,
    cast(data_area_id as {{ dbt.type_string() }}) as legal_entity_code,
    cast(null as {{ dbt.type_string() }}) as erp_subsidiary_id,
    cast(sales_currency_code as {{ dbt.type_string() }}) as currency_code,
    -- CustomersV3 carries no creation stamp
    cast(null as timestamp with time zone) as created_at,
    cast(modified_at as timestamp with time zone) as modified_at,
    -- F&O data entities have no deletion feed: a deleted account stays as last read
    cast(false as boolean) as is_deleted,
    cast(conform_customer_id as {{ dbt.type_string() }}) as conform_customer_id,
    cast(crm_account_id as {{ dbt.type_string() }}) as crm_account_id
from customers
