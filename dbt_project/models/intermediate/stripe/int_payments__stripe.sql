-- Common shape 6: one row per succeeded Stripe charge (payment_id = charge id), with the Stripe
-- invoice it pays and that invoice's ERP invoice number. Pending and failed charges are not
-- payments: they stay visible in stg_stripe__charges only. Refunds are shown beside the charged
-- amount (amount_refunded), not netted.
with

charges as (

    select * from {{ ref('stg_stripe__charges') }}

),

invoices as (

    select * from {{ ref('stg_stripe__invoices') }}

),

final as (

    select
        cast(charges.source_system as {{ dbt.type_string() }}) as source_system,
        cast(charges.source_relation as {{ dbt.type_string() }}) as source_relation,
        cast(charges.charge_id as {{ dbt.type_string() }}) as payment_id,
        cast(charges.charge_id as {{ dbt.type_string() }}) as stripe_charge_id,
        cast(charges.invoice_id as {{ dbt.type_string() }}) as stripe_invoice_id,
        cast(nullif(trim(invoices.erp_invoice_number), '') as {{ dbt.type_string() }}) as invoice_number,
        cast(invoices.erp_system as {{ dbt.type_string() }}) as erp_system,
        cast(coalesce(charges.customer_id, invoices.customer_id) as {{ dbt.type_string() }}) as customer_source_record_id,
        cast(cast(charges.created_at at time zone 'UTC' as date) as date) as payment_date,
        cast(charges.created_at as timestamp with time zone) as paid_at,
        cast(charges.amount_major as numeric(18, 2)) as amount,
        cast(charges.amount_refunded_major as numeric(18, 2)) as amount_refunded,
        cast(charges.currency_code as {{ dbt.type_string() }}) as currency_code,
        cast('card' as {{ dbt.type_string() }}) as channel,
        cast(charges.status as {{ dbt.type_string() }}) as status

    from charges
    left join invoices
        on charges.source_relation = invoices.source_relation
        and charges.invoice_id = invoices.invoice_id
    where charges.status = 'succeeded'

)

select * from final
