with

source as (

    select * from {{ source('raw_stripe', 'customers') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["_source_connection", "'|'", "id"]) }} as customer_key,
        cast(id as {{ dbt.type_string() }}) as customer_id,
        'stripe' as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,

        ----------  strings
        name as customer_name,
        email,
        description,
        tax_exempt,
        upper(currency) as currency_code,
        address__line1 as address_line1,
        address__line2 as address_line2,
        address__city as address_city,
        address__state as address_state,
        address__postal_code as address_postal_code,
        upper(address__country) as address_country,
        {{ stripe_optional_column(source('raw_stripe', 'customers'), 'metadata__erp_customer_id', dbt.type_string()) }} as erp_customer_id,
        {{ stripe_optional_column(source('raw_stripe', 'customers'), 'metadata__conform_customer_id', dbt.type_string()) }} as conform_customer_id,

        ----------  numerics (minor units as sent, and in currency units)
        balance,
        balance_major,

        ----------  booleans
        livemode,
        coalesce(is_deleted, false) as is_deleted,

        ----------  timestamps
        created as created_at,
        _dlt_load_id as dlt_load_id

    from source

)

select * from renamed
