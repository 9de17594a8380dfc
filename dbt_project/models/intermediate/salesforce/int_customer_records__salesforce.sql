-- Common shape 1: one customer record per Salesforce Account (soft-deleted ones included).
with

accounts as (

    select * from {{ ref('stg_salesforce__account') }}

),

final as (

    select
        cast(source_system as {{ dbt.type_string() }}) as source_system,
        cast(source_relation as {{ dbt.type_string() }}) as source_relation,
        cast('Account' as {{ dbt.type_string() }}) as source_object,
        cast(account_id as {{ dbt.type_string() }}) as source_record_id,
        cast(account_name as {{ dbt.type_string() }}) as customer_name,
        cast(tax_id as {{ dbt.type_string() }}) as tax_id_raw,
        cast(billing_country as {{ dbt.type_string() }}) as country_raw,
        cast(nullif(trim(billing_country_code), '') as {{ dbt.type_string() }}) as country_code,
        cast(website as {{ dbt.type_string() }}) as website_raw,
        cast(null as {{ dbt.type_string() }}) as email,
        cast(billing_city as {{ dbt.type_string() }}) as city,
        cast(parent_account_id as {{ dbt.type_string() }}) as parent_source_record_id,
        cast(null as {{ dbt.type_string() }}) as erp_customer_number,
        cast(nullif(trim(erp_customer_number), '') as {{ dbt.type_string() }}) as erp_customer_number_hint,
        cast(null as {{ dbt.type_string() }}) as legal_entity_code,
        cast(null as {{ dbt.type_string() }}) as erp_subsidiary_id,
        cast(currency_code as {{ dbt.type_string() }}) as currency_code,
        cast(created_at as timestamp with time zone) as created_at,
        cast(system_modstamp as timestamp with time zone) as modified_at,
        cast(is_deleted as boolean) as is_deleted

    from accounts

)

select * from final
