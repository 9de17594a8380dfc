-- Payments applied to invoices: bank and card receipts recorded in the ERPs, and card charges
-- in Stripe (the billing platform owns card payments). A Stripe charge whose invoice carries
-- no ERP number takes it from the ERP payment that references the same charge.
{% set columns = ['source_system', 'source_relation', 'payment_id', 'invoice_number',
                  'customer_source_record_id', 'payment_date', 'amount', 'currency_code',
                  'channel', 'stripe_charge_id'] %}

with unioned as (
    {% for system in ['netsuite', 'dynamics', 'stripe'] %}
    select
        {{ columns | join(', ') }},
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
)

select
    unioned.source_system,
    unioned.source_relation,
    unioned.payment_id,
    coalesce(unioned.invoice_number, erp_charge_invoices.invoice_number) as invoice_number,
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
