with

source as (

    select * from {{ source('raw_stripe', 'invoices') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["_source_connection", "'|'", "id"]) }} as invoice_key,
        cast(id as {{ dbt.type_string() }}) as invoice_id,
        cast(customer as {{ dbt.type_string() }}) as customer_id,
        cast(payment_intent as {{ dbt.type_string() }}) as payment_intent_id,
        'stripe' as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,

        ----------  strings
        number as invoice_number,
        status,
        collection_method,
        upper(currency) as currency_code,
        {{ stripe_optional_column(source('raw_stripe', 'invoices'), 'metadata__erp_invoice_number', dbt.type_string()) }} as erp_invoice_number,
        {{ stripe_optional_column(source('raw_stripe', 'invoices'), 'metadata__erp_system', dbt.type_string()) }} as erp_system,

        ----------  numerics (minor units as sent, and `_major` in currency units)
        subtotal,
        subtotal_major,
        tax,
        tax_major,
        total,
        total_major,
        amount_due,
        amount_due_major,
        amount_paid,
        amount_paid_major,
        amount_remaining,
        amount_remaining_major,

        ----------  booleans
        livemode,

        ----------  timestamps
        created as created_at,
        due_date as due_at,
        status_transitions__finalized_at as finalized_at,
        status_transitions__paid_at as paid_at,
        status_transitions__marked_uncollectible_at as marked_uncollectible_at,
        status_transitions__voided_at as voided_at,
        _dlt_load_id as dlt_load_id

    from source

)

select * from renamed
