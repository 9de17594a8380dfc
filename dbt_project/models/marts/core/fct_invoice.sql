-- Grain: one ERP invoice (credit notes are applied to it, not rows of their own). The ERP owns
-- the number and the receivable; open amount = total - credits applied - payments the ERP
-- recorded. Card payments Stripe holds are shown beside it (they may not have reached the ERP).
with invoices as (
    select * from {{ ref('int_invoices') }}
    where document_type = 'invoice'
),

credits as (
    select source_system, source_relation, invoice_number, sum(amount) as credited_amount
    from {{ ref('int_credit_applications') }}
    group by source_system, source_relation, invoice_number
),

erp_payments as (
    select
        source_system, source_relation, invoice_number, sum(amount) as paid_amount,
        max(payment_date) as last_payment_date
    from {{ ref('int_payments') }}
    where source_system in ('netsuite', 'dynamics')
    group by source_system, source_relation, invoice_number
),

card_payments as (
    select invoice_number, sum(amount) as card_paid_amount
    from {{ ref('int_payments') }}
    where source_system = 'stripe' and invoice_number is not null
    group by invoice_number
),

fx as (
    select * from {{ ref('int_fx_rates_to_reporting') }}
),

projects as (
    select project_key, erp_project_record_id, erp_system, erp_connection
    from {{ ref('dim_project') }}
    where erp_project_record_id is not null
),

amounts as (
    select
        invoices.*,
        cast(coalesce(credits.credited_amount, 0) as numeric(18, 2)) as credited_amount,
        cast(coalesce(erp_payments.paid_amount, 0) as numeric(18, 2)) as paid_amount,
        cast(coalesce(card_payments.card_paid_amount, 0) as numeric(18, 2)) as stripe_paid_amount,
        erp_payments.last_payment_date
    from invoices
    left join credits
        on credits.source_system = invoices.source_system
            and credits.source_relation = invoices.source_relation
            and credits.invoice_number = invoices.invoice_number
    left join erp_payments
        on erp_payments.source_system = invoices.source_system
            and erp_payments.source_relation = invoices.source_relation
            and erp_payments.invoice_number = invoices.invoice_number
    left join card_payments on card_payments.invoice_number = invoices.invoice_number
)

select
    amounts.invoice_key,
    amounts.invoice_number,
    amounts.source_system,
    amounts.source_relation,
    amounts.legal_entity_code,
    amounts.customer_source_record_id,
    projects.project_key,
    amounts.psa_invoice_id,
    cast(amounts.invoice_date as date) as invoice_date,
    cast(amounts.due_date as date) as due_date,
    amounts.currency_code,
    cast(amounts.subtotal_amount as numeric(18, 2)) as subtotal_amount,
    cast(amounts.tax_amount as numeric(18, 2)) as tax_amount,
    cast(amounts.total_amount as numeric(18, 2)) as total_amount,
    amounts.credited_amount,
    amounts.paid_amount,
    cast(amounts.total_amount - amounts.credited_amount - amounts.paid_amount as numeric(18, 2))
        as open_amount,
    cast(amounts.erp_open_amount as numeric(18, 2)) as erp_open_amount,
    amounts.stripe_paid_amount,
    cast(amounts.last_payment_date as date) as last_payment_date,
    cast(amounts.is_disputed as boolean) as is_disputed,
    -- canonical status: disputed, else the ERP's own status via seed status_mapping, else
    -- derived from the open amount
    cast(
        case
            when amounts.is_disputed then 'disputed'
            when status_map.canonical_status is not null then status_map.canonical_status
            when amounts.total_amount - amounts.credited_amount - amounts.paid_amount <= 0 then 'paid'
            else 'open'
        end as {{ dbt.type_string() }}
    ) as status,
    fx.rate_to_reporting is not null as has_reporting_rate,
    cast(amounts.total_amount * fx.rate_to_reporting as numeric(18, 2)) as total_amount_reporting,
    cast(
        (amounts.total_amount - amounts.credited_amount - amounts.paid_amount) * fx.rate_to_reporting
        as numeric(18, 2)
    ) as open_amount_reporting,
    cast(amounts.modified_at as timestamp with time zone) as modified_at
from amounts
left join projects
    on projects.erp_system = amounts.source_system
        and projects.erp_connection = amounts.source_relation
        and projects.erp_project_record_id = amounts.project_source_record_id
left join fx
    on fx.currency_code = amounts.currency_code
        and fx.rate_date = amounts.invoice_date
left join {{ ref('status_mapping') }} as status_map
    on status_map.source_system = amounts.source_system
        and status_map.object = 'invoice'
        and status_map.raw_status = amounts.status_raw
