with

source as (

    select * from {{ source('raw_dynamics', 'customers_v3') }}

),

renamed as (

    select

        ----------  ids
        {{ dynamics_key(['_source_connection', 'lower(data_area_id)', 'customer_account']) }} as customer_key,
        lower(data_area_id) as data_area_id,
        cast(customer_account as {{ dbt.type_string() }}) as customer_account,
        cast(invoice_account as {{ dbt.type_string() }}) as invoice_account,
        cast(party_number as {{ dbt.type_string() }}) as party_number,
        cast(conform_customer_id as {{ dbt.type_string() }}) as conform_customer_id,
        cast(crm_account_id as {{ dbt.type_string() }}) as crm_account_id,

        ----------  strings
        cast('dynamics' as {{ dbt.type_string() }}) as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,
        cast(organization_name as {{ dbt.type_string() }}) as organization_name,
        cast(name_alias as {{ dbt.type_string() }}) as name_alias,
        cast(customer_group_id as {{ dbt.type_string() }}) as customer_group_id,
        cast(tax_exempt_number as {{ dbt.type_string() }}) as tax_exempt_number,
        cast(sales_tax_group as {{ dbt.type_string() }}) as sales_tax_group,
        upper(address_country_region_id) as address_country_region_id,
        upper(address_country_region_iso_code) as address_country_region_iso_code,
        cast(address_city as {{ dbt.type_string() }}) as address_city,
        cast(address_zip_code as {{ dbt.type_string() }}) as address_zip_code,
        cast(address_street as {{ dbt.type_string() }}) as address_street,
        cast(primary_contact_email as {{ dbt.type_string() }}) as primary_contact_email,
        cast(primary_contact_url as {{ dbt.type_string() }}) as primary_contact_url,
        cast(primary_contact_phone as {{ dbt.type_string() }}) as primary_contact_phone,
        upper(sales_currency_code) as sales_currency_code,
        cast(payment_terms as {{ dbt.type_string() }}) as payment_terms,
        cast(on_hold_status as {{ dbt.type_string() }}) as on_hold_status,

        ----------  numerics
        cast(credit_limit as numeric(18, 2)) as credit_limit,

        ----------  timestamps
        cast(modified_date_time as timestamp with time zone) as modified_at

    from source

)

select * from renamed
