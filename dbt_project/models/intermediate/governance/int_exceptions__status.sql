-- Status mismatches between systems: a project the PSA still runs that the ERP has closed
-- (billing leakage: billable time after the close, which no invoice can carry), an invoice the
-- ERP holds disputed that the PSA still shows as issued and collectible, and a card payment
-- Stripe received that the ERP has not applied var payment_recording_days later, its invoice
-- still open there.
{% set recording_days = var('payment_recording_days', 5) %}

with projects as (
    select * from {{ ref('dim_project') }}
),

as_of as (
    select as_of_date from {{ ref('int_governance_as_of') }}
),

loads as (
    select * from {{ ref('int_governance_loads') }}
),

leakage as (
    select
        entries.project_key,
        sum(entries.bill_amount_reporting) as leaked_amount,
        sum(entries.billable_hours) as leaked_hours
    from {{ ref('fct_time_entry') }} as entries
    inner join projects on projects.project_key = entries.project_key
    where entries.is_billable
        and projects.erp_closed_at is not null
        and entries.work_date > cast(projects.erp_closed_at as date)
    group by entries.project_key
),

active_closed as (
    select
        'psa_active_erp_closed' as exception_kind,
        'high' as severity,
        'project' as object_type,
        projects.project_key as object_key,
        projects.project_key as canonical_id,
        projects.erp_system as source_system,
        projects.erp_connection as source_connection,
        projects.erp_project_record_id as source_id,
        projects.erp_system as owner_system,
        projects.legal_entity_code,
        {{ dbt.concat([
            "'project '", "coalesce(projects.erp_project_code, projects.project_key)", "' ('",
            "coalesce(projects.project_name, '')", "') is '", 'projects.psa_status', "' in the PSA (workspace '",
            'projects.psa_workspace_id', "') but closed in '", 'projects.erp_system', "' on '",
            "coalesce(cast(cast(projects.erp_closed_at as date) as " ~ dbt.type_string() ~ "), 'an unknown date')",
            "'; '", "cast(coalesce(leakage.leaked_hours, 0) as " ~ dbt.type_string() ~ ")",
            "' billable hours since cannot be invoiced'"]) }} as reason,
        cast(coalesce(leakage.leaked_amount, 0) as numeric(18, 2)) as amount_at_risk,
        {{ governance_correlation('projects.erp_system', 'projects.erp_connection', "'project'",
                                  'projects.erp_project_record_id', 'loads.latest_load_id') }} as correlation_id
    from projects
    left join leakage on leakage.project_key = projects.project_key
    left join loads
        on loads.source_system = projects.erp_system and loads.source_connection = projects.erp_connection
    where projects.psa_status in ('planned', 'active')
        and projects.erp_status = 'closed'
),

invoices as (
    select
        invoices.*,
        loads.latest_load_id
    from {{ ref('fct_invoice') }} as invoices
    left join loads
        on loads.source_system = invoices.source_system
        and loads.source_connection = invoices.source_relation
),

psa_invoices as (
    select
        psa.*,
        status_map.canonical_status
    from {{ ref('int_psa_invoices__psa') }} as psa
    left join {{ ref('status_mapping') }} as status_map
        on status_map.source_system = 'psa'
        and status_map.object = 'invoice'
        and status_map.raw_status = psa.status
),

disputed_collectible as (
    select
        'invoice_disputed_collectible' as exception_kind,
        'high' as severity,
        'invoice' as object_type,
        invoices.invoice_key as object_key,
        cast(null as {{ dbt.type_string() }}) as canonical_id,
        invoices.source_system,
        invoices.source_relation as source_connection,
        invoices.invoice_number as source_id,
        'psa' as owner_system,
        invoices.legal_entity_code,
        {{ dbt.concat([
            "'invoice '", 'invoices.invoice_number', "' is disputed in '", 'invoices.source_system',
            "' but the PSA (invoice '", 'psa_invoices.psa_invoice_id', "') shows it '",
            'psa_invoices.status', "' with '", 'cast(psa_invoices.balance_amount as ' ~ dbt.type_string() ~ ')',
            "' '", 'psa_invoices.currency_code', "' to collect'"]) }} as reason,
        invoices.open_amount_reporting as amount_at_risk,
        {{ governance_correlation('invoices.source_system', 'invoices.source_relation', "'invoice'",
                                  'invoices.invoice_number', 'invoices.latest_load_id') }} as correlation_id
    from invoices
    inner join psa_invoices on psa_invoices.erp_invoice_number = invoices.invoice_number
    where invoices.is_disputed
        and invoices.open_amount > 0
        and psa_invoices.canonical_status = 'issued'
        and psa_invoices.balance_amount > 0
),

unrecorded_card_payments as (
    select
        payments.invoice_number,
        min(payments.payment_id) as first_payment_id,
        {{ dbt.listagg('payments.payment_id', "';'", 'order by payments.payment_id') }} as payment_ids,
        sum(payments.amount) as card_amount,
        sum(payments.amount_reporting) as card_amount_reporting,
        max(payments.currency_code) as currency_code,
        min(payments.payment_date) as first_payment_date
    from {{ ref('fct_payment') }} as payments
    cross join as_of
    where payments.source_system = 'stripe'
        and payments.status = 'settled'
        and not payments.is_recorded_in_erp
        and payments.payment_date <= {{ dbt.dateadd('day', '-' ~ recording_days, 'as_of.as_of_date') }}
    group by payments.invoice_number
),

stripe_loads as (
    select * from loads where source_system = 'stripe'
),

paid_open as (
    select
        'stripe_paid_erp_open' as exception_kind,
        'high' as severity,
        case when invoices.invoice_key is null then 'payment' else 'invoice' end as object_type,
        coalesce(invoices.invoice_key, {{ dbt.concat(["'stripe|'", 'card.first_payment_id']) }}) as object_key,
        cast(null as {{ dbt.type_string() }}) as canonical_id,
        coalesce(invoices.source_system, 'stripe') as source_system,
        coalesce(invoices.source_relation, 'stripe') as source_connection,
        coalesce(invoices.invoice_number, card.payment_ids) as source_id,
        coalesce(invoices.source_system, 'stripe') as owner_system,
        invoices.legal_entity_code,
        {{ dbt.concat([
            "'Stripe received '", 'cast(card.card_amount as ' ~ dbt.type_string() ~ ')', "' '",
            'card.currency_code', "' by card ('", 'card.payment_ids', "', from '",
            'cast(card.first_payment_date as ' ~ dbt.type_string() ~ ')', "') for invoice '",
            "coalesce(card.invoice_number, 'unknown')", "', which '",
            "coalesce(invoices.source_system, 'no ERP')", "' still shows '",
            "coalesce(cast(invoices.open_amount as " ~ dbt.type_string() ~ "), '?')", "' open'"]) }} as reason,
        cast(
            case
                when invoices.open_amount_reporting is null then card.card_amount_reporting
                when card.card_amount_reporting < invoices.open_amount_reporting then card.card_amount_reporting
                else invoices.open_amount_reporting
            end as numeric(18, 2)
        ) as amount_at_risk,
        {{ governance_correlation("'stripe'", "'stripe'", "'charges'", 'card.payment_ids',
                                  'stripe_loads.latest_load_id') }} as correlation_id
    from unrecorded_card_payments as card
    left join invoices on invoices.invoice_number = card.invoice_number
    cross join stripe_loads
    where invoices.invoice_key is null or invoices.open_amount > 0
),

detected as (
    select * from active_closed
    union all
    select * from disputed_collectible
    union all
    select * from paid_open
)

{{ governance_detected('detected', 'status') }}
