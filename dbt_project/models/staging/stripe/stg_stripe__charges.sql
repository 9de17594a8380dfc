with

source as (

    select * from {{ source('raw_stripe', 'charges') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["_source_connection", "'|'", "id"]) }} as charge_key,
        cast(id as {{ dbt.type_string() }}) as charge_id,
        cast(customer as {{ dbt.type_string() }}) as customer_id,
        cast(invoice as {{ dbt.type_string() }}) as invoice_id,
        cast(payment_intent as {{ dbt.type_string() }}) as payment_intent_id,
        'stripe' as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,

        ----------  strings
        status,
        upper(currency) as currency_code,

        ----------  numerics (minor units as sent, and `_major` in currency units)
        amount,
        amount_major,
        amount_captured,
        amount_captured_major,
        amount_refunded,
        amount_refunded_major,

        ----------  booleans
        paid as is_paid,
        captured as is_captured,
        refunded as is_refunded,
        livemode,

        ----------  timestamps
        created as created_at,
        _dlt_load_id as dlt_load_id

    from source

)

select * from renamed
