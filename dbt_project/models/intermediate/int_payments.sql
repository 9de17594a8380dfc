-- Payments applied to invoices: bank and card receipts recorded in the ERPs, and card charges
-- in Stripe (the billing platform owns card payments). A Stripe charge whose invoice carries
-- no ERP number takes it from the ERP payment that references the same charge, else from the
-- PSA invoice it was billed from (same currency, total and date, and the PSA invoice id ending
-- the Stripe invoice number, as the billing integration numbers it), when exactly one matches.
{% set columns = ['source_system', 'source_relation', 'payment_id', 'invoice_number',
                  'customer_source_record_id', 'payment_date', 'amount', 'currency_code',
                  'channel', 'stripe_charge_id'] %}

with unioned as (
    {% for system in ['netsuite', 'dynamics', 'stripe'] %}
    select
        {{ columns | join(', ') }},
        {% if system == 'stripe' %}stripe_invoice_id{% else %}cast(null as {{ dbt.type_string() }}){% endif %} as stripe_invoice_id,
        -- Stripe: the charge status; an ERP payment is a recorded (posted) receipt
        {% if system == 'stripe' %}cast(status as {{ dbt.type_string() }}){% else %}cast('posted' as {{ dbt.type_string() }}){% endif %} as status_raw
    from {{ ref('int_payments__' ~ system) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

erp_charge_invoices as (
    select stripe_charge_id, max(invoice_number) as invoice_number
    from unioned
    where source_system <> 'stripe' and stripe_charge_id is not null
    group by stripe_charge_id
),

stripe_invoice_numbers as (
    -- Stripe invoices without the ERP number in their metadata, matched to the PSA invoice
    select stripe.stripe_invoice_id, max(psa.erp_invoice_number) as invoice_number
    from {{ ref('int_stripe_invoices__stripe') }} as stripe
    inner join {{ ref('int_psa_invoices__psa') }} as psa
        on psa.currency_code = stripe.currency_code
        and psa.balance_amount = stripe.total_amount
        and psa.invoice_date = stripe.invoice_date
        and stripe.stripe_invoice_number like {{ dbt.concat(["'%-'", dbt.right('psa.psa_invoice_id', 4)]) }}
    where stripe.erp_invoice_number is null
        and psa.erp_invoice_number is not null
    group by stripe.stripe_invoice_id
    having count(distinct psa.erp_invoice_number) = 1
)

select
    unioned.source_system,
    unioned.source_relation,
    unioned.payment_id,
    coalesce(
        unioned.invoice_number, erp_charge_invoices.invoice_number, stripe_invoice_numbers.invoice_number
    ) as invoice_number,
    unioned.customer_source_record_id,
    unioned.payment_date,
    unioned.amount,
    unioned.currency_code,
    unioned.channel,
    unioned.stripe_charge_id,
    unioned.status_raw
from unioned
left join erp_charge_invoices
    on unioned.source_system = 'stripe'
    and erp_charge_invoices.stripe_charge_id = unioned.stripe_charge_id
left join stripe_invoice_numbers
    on unioned.source_system = 'stripe'
    and stripe_invoice_numbers.stripe_invoice_id = unioned.stripe_invoice_id
