-- What every Stripe invoice that collects an ERP invoice should hold in its metadata: the ERP
-- invoice number and ERP (metadata[erp_invoice_number], metadata[erp_system]). The ERP owns
-- invoice numbers: the number comes from the ERP's own receipt of the card payment (the Stripe
-- charge id the ERP recorded on the payment), else from the metadata when it names a known ERP
-- invoice.
with

stripe_invoices as (
    select * from {{ ref('stg_stripe__invoices') }}
),

charges as (
    select source_relation, charge_id, invoice_id
    from {{ ref('stg_stripe__charges') }}
    where invoice_id is not null
),

erp_invoices as (
    select invoice_key, invoice_number, source_system from {{ ref('fct_invoice') }}
),

erp_receipts as (
    -- ERP payments that record a Stripe charge: the ERP's word on which invoice it paid
    select
        charges.source_relation,
        charges.invoice_id as stripe_invoice_id,
        erp_invoices.invoice_number,
        erp_invoices.source_system as erp_system,
        row_number() over (
            partition by charges.source_relation, charges.invoice_id
            order by payments.payment_date desc, payments.payment_key asc
        ) as receipt_rank
    from {{ ref('fct_payment') }} as payments
    inner join charges on charges.charge_id = payments.stripe_charge_id
    inner join erp_invoices on erp_invoices.invoice_key = payments.invoice_key
    where payments.source_system in ('netsuite', 'dynamics')
),

metadata_numbers as (
    -- the number already in the metadata, when it names exactly one ERP invoice
    select
        stripe_invoices.source_relation,
        stripe_invoices.invoice_id,
        min(erp_invoices.invoice_number) as invoice_number,
        min(erp_invoices.source_system) as erp_system
    from stripe_invoices
    inner join erp_invoices on erp_invoices.invoice_number = stripe_invoices.erp_invoice_number
    group by stripe_invoices.source_relation, stripe_invoices.invoice_id
    having count(*) = 1
),

final as (
    select
        stripe_invoices.source_system as target_system,
        stripe_invoices.source_relation as target_connection,
        stripe_invoices.invoice_id as target_id,
        coalesce(erp_receipts.invoice_number, metadata_numbers.invoice_number) as erp_invoice_number,
        coalesce(erp_receipts.erp_system, metadata_numbers.erp_system) as erp_system
    from stripe_invoices
    left join erp_receipts
        on erp_receipts.source_relation = stripe_invoices.source_relation
            and erp_receipts.stripe_invoice_id = stripe_invoices.invoice_id
            and erp_receipts.receipt_rank = 1
    left join metadata_numbers
        on metadata_numbers.source_relation = stripe_invoices.source_relation
            and metadata_numbers.invoice_id = stripe_invoices.invoice_id
)

select
    cast(target_system as {{ dbt.type_string() }}) as target_system,
    cast(target_connection as {{ dbt.type_string() }}) as target_connection,
    cast('invoices' as {{ dbt.type_string() }}) as target_object,
    cast(target_id as {{ dbt.type_string() }}) as target_id,
    cast(erp_invoice_number as {{ dbt.type_string() }}) as canonical_id,
    cast(
        {{ dbt.concat(["erp_system", "'|'", "erp_invoice_number"]) }} as {{ dbt.type_string() }}
    ) as source_record_key,
    cast(
        {{ sync_correlation_id('target_system', 'target_connection', "'invoices'", 'target_id', 'erp_invoice_number') }}
        as {{ dbt.type_string() }}
    ) as correlation_id,
    cast(erp_invoice_number as {{ dbt.type_string() }}) as erp_invoice_number,
    cast(erp_system as {{ dbt.type_string() }}) as erp_system
from final
where erp_invoice_number is not null
