-- Grain: one card charge (a settled Stripe charge, or an ERP card receipt whose charge Stripe
-- does not hold). What Stripe received vs what the ERP applied for the same charge. A charge
-- the ERP has not applied is explained by an open stripe_paid_erp_open exception on its
-- invoice, or in transit within var payment_recording_days; what remains is unexplained.
{% set recording_days = var('payment_recording_days', 5) %}

with payments as (
    select * from {{ ref('fct_payment') }}
),

as_of as (
    select as_of_date from {{ ref('int_governance_as_of') }}
),

stripe as (
    select
        stripe_charge_id,
        max(invoice_number) as invoice_number,
        max(currency_code) as currency_code,
        min(payment_date) as payment_date,
        sum(amount) as amount,
        sum(amount_reporting) as amount_reporting
    from payments
    where source_system = 'stripe' and status = 'settled'
    group by stripe_charge_id
),

erp as (
    select
        stripe_charge_id,
        max(source_system) as erp_system,
        max(source_relation) as erp_connection,
        max(invoice_number) as invoice_number,
        max(currency_code) as currency_code,
        min(payment_date) as payment_date,
        sum(amount) as amount,
        sum(amount_reporting) as amount_reporting
    from payments
    where source_system <> 'stripe' and channel = 'card' and stripe_charge_id is not null
    group by stripe_charge_id
),

explained_invoices as (
    select source_id as invoice_number
    from {{ ref('int_exceptions__status') }}
    where exception_kind = 'stripe_paid_erp_open'
),

compared as (
    select
        coalesce(stripe.stripe_charge_id, erp.stripe_charge_id) as stripe_charge_id,
        coalesce(stripe.invoice_number, erp.invoice_number) as invoice_number,
        erp.erp_system,
        erp.erp_connection,
        coalesce(stripe.currency_code, erp.currency_code) as currency_code,
        stripe.payment_date as stripe_payment_date,
        erp.payment_date as erp_payment_date,
        coalesce(stripe.amount, 0) as stripe_amount,
        coalesce(erp.amount, 0) as erp_amount,
        coalesce(stripe.amount_reporting, erp.amount_reporting)
        / nullif(coalesce(stripe.amount, erp.amount), 0) as rate_reporting,
        case
            when abs(coalesce(stripe.amount, 0) - coalesce(erp.amount, 0)) <= 0.005 then 'matched'
            when erp.stripe_charge_id is null and explained_invoices.invoice_number is not null then 'explained'
            when erp.stripe_charge_id is null
                and stripe.payment_date > {{ dbt.dateadd('day', '-' ~ recording_days, 'as_of.as_of_date') }}
                then 'in_transit'
            else 'unexplained'
        end as state
    from stripe
    full outer join erp on erp.stripe_charge_id = stripe.stripe_charge_id
    cross join as_of
    left join explained_invoices on explained_invoices.invoice_number = stripe.invoice_number
)

select
    stripe_charge_id,
    invoice_number,
    erp_system,
    erp_connection,
    currency_code,
    cast(stripe_payment_date as date) as stripe_payment_date,
    cast(erp_payment_date as date) as erp_payment_date,
    cast(stripe_amount as numeric(18, 2)) as stripe_amount,
    cast(erp_amount as numeric(18, 2)) as erp_applied_amount,
    cast(stripe_amount - erp_amount as numeric(18, 2)) as difference_amount,
    cast((stripe_amount - erp_amount) * rate_reporting as numeric(18, 2)) as difference_amount_reporting,
    cast(state as {{ dbt.type_string() }}) as reconciliation_state,
    state <> 'matched' as has_difference,
    state = 'unexplained' as has_unexplained_difference
from compared
