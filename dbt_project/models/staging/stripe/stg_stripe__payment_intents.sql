with

source as (

    select * from {{ source('raw_stripe', 'payment_intents') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["_source_connection", "'|'", "id"]) }} as payment_intent_key,
        cast(id as {{ dbt.type_string() }}) as payment_intent_id,
        cast(customer as {{ dbt.type_string() }}) as customer_id,
        cast(invoice as {{ dbt.type_string() }}) as invoice_id,
        cast(latest_charge as {{ dbt.type_string() }}) as latest_charge_id,
        'stripe' as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,

        ----------  strings
        status,
        upper(currency) as currency_code,

        ----------  numerics (minor units as sent, and `_major` in currency units)
        amount,
        amount_major,
        amount_received,
        amount_received_major,

        ----------  booleans
        livemode,

        ----------  timestamps
        created as created_at,
        _dlt_load_id as dlt_load_id

    from source

)

select * from renamed
