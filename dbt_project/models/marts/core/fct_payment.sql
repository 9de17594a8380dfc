-- Grain: one payment: a bank or card receipt recorded in an ERP, or a card charge in Stripe.
-- A card payment appears twice when the ERP recorded the payout (channel card in both);
-- is_recorded_in_erp tells whether a Stripe charge reached the ERP.
with payments as (
    select * from {{ ref('int_payments') }}
),

erp_charges as (
    select distinct stripe_charge_id
    from payments
    where source_system <> 'stripe' and stripe_charge_id is not null
)

select
    {{ dbt.concat([
        "payments.source_system", "'|'", "payments.source_relation", "'|'", "payments.payment_id",
    ]) }} as payment_key,
    payments.source_system,
    payments.source_relation,
    payments.payment_id,
    payments.invoice_number,
    invoices.invoice_key,
    payments.customer_source_record_id,
    payments.channel,
    payments.stripe_charge_id,
    cast(payments.payment_date as date) as payment_date,
    cast(payments.amount as numeric(18, 2)) as amount,
    payments.currency_code,
    case
        when payments.source_system <> 'stripe' then true
        else erp_charges.stripe_charge_id is not null
    end as is_recorded_in_erp,
    -- canonical status via seed status_mapping (Stripe charge status; ERP receipts settled)
    cast(
        coalesce(
            status_map.canonical_status,
            case when payments.source_system <> 'stripe' then 'settled' end
        ) as {{ dbt.type_string() }}
    ) as status,
    cast(payments.amount * fx.rate_to_reporting as numeric(18, 2)) as amount_reporting
from payments
left join erp_charges on erp_charges.stripe_charge_id = payments.stripe_charge_id
left join {{ ref('int_invoices') }} as invoices
    on invoices.invoice_number = payments.invoice_number
        and invoices.document_type = 'invoice'
        and (payments.source_system = 'stripe' or (
            invoices.source_system = payments.source_system
            and invoices.source_relation = payments.source_relation
        ))
left join {{ ref('int_fx_rates_to_reporting') }} as fx
    on fx.currency_code = payments.currency_code and fx.rate_date = payments.payment_date
left join {{ ref('status_mapping') }} as status_map
    on status_map.source_system = payments.source_system
        and status_map.object = 'payment'
        and status_map.raw_status = payments.status_raw
