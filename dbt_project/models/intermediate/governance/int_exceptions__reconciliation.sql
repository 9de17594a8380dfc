-- Every reconciliation difference no known exception (or time in transit) explains is itself
-- an exception: unexplained_<time|invoice|payment|receivable>_difference.
with loads as (
    select * from {{ ref('int_governance_loads') }}
),

time_differences as (
    select
        'unexplained_time_difference' as exception_kind,
        'medium' as severity,
        'project_month' as object_type,
        recon.reconciliation_key as object_key,
        recon.project_key as canonical_id,
        coalesce(recon.erp_system, 'psa') as source_system,
        coalesce(recon.erp_connection, 'psa') as source_connection,
        recon.reconciliation_key as source_id,
        coalesce(recon.erp_system, 'psa') as owner_system,
        recon.legal_entity_code,
        {{ dbt.concat([
            "'project '", 'recon.project_key', "', '", 'cast(recon.month_start as ' ~ dbt.type_string() ~ ')',
            "': PSA approved billable '", 'cast(recon.psa_approved_billable_hours as ' ~ dbt.type_string() ~ ')',
            "' h, ERP posted '", 'cast(recon.erp_posted_billable_hours as ' ~ dbt.type_string() ~ ')',
            "' h; '", 'cast(recon.unexplained_hours as ' ~ dbt.type_string() ~ ')', "' h unexplained'"]) }}
            as reason,
        recon.unexplained_amount_reporting as amount_at_risk,
        {{ governance_correlation("coalesce(recon.erp_system, 'psa')", "coalesce(recon.erp_connection, 'psa')",
                                  "'project_month'", 'recon.reconciliation_key', 'loads.latest_load_id') }}
            as correlation_id
    from {{ ref('reconciliation_time') }} as recon
    left join loads
        on loads.source_system = recon.erp_system and loads.source_connection = recon.erp_connection
    where recon.has_unexplained_difference
),

invoice_differences as (
    select
        'unexplained_invoice_difference' as exception_kind,
        'high' as severity,
        'invoice' as object_type,
        recon.reconciliation_key as object_key,
        cast(null as {{ dbt.type_string() }}) as canonical_id,
        coalesce(recon.source_system, 'psa') as source_system,
        coalesce(recon.source_relation, 'psa') as source_connection,
        recon.invoice_number as source_id,
        coalesce(recon.source_system, 'psa') as owner_system,
        recon.legal_entity_code,
        {{ dbt.concat([
            "'invoice '", 'recon.invoice_number', "': header '", 'cast(recon.header_total_amount as ' ~ dbt.type_string() ~ ')',
            "', lines '", 'cast(recon.lines_total_amount as ' ~ dbt.type_string() ~ ')',
            "', PSA '", 'cast(recon.psa_invoiced_amount as ' ~ dbt.type_string() ~ ')',
            "case when recon.invoice_key is null then ' (no ERP invoice)' when recon.psa_invoice_id is null then ' (no PSA invoice)' else '' end"]) }}
            as reason,
        recon.difference_amount_reporting as amount_at_risk,
        {{ governance_correlation("coalesce(recon.source_system, 'psa')", "coalesce(recon.source_relation, 'psa')",
                                  "'invoice'", 'recon.invoice_number', 'loads.latest_load_id') }} as correlation_id
    from {{ ref('reconciliation_invoices') }} as recon
    left join loads
        on loads.source_system = coalesce(recon.source_system, 'psa')
        and loads.source_connection = coalesce(recon.source_relation, 'psa')
    where recon.has_unexplained_difference
),

payment_differences as (
    select
        'unexplained_payment_difference' as exception_kind,
        'high' as severity,
        'payment' as object_type,
        recon.stripe_charge_id as object_key,
        cast(null as {{ dbt.type_string() }}) as canonical_id,
        'stripe' as source_system,
        'stripe' as source_connection,
        recon.stripe_charge_id as source_id,
        coalesce(recon.erp_system, 'stripe') as owner_system,
        cast(null as {{ dbt.type_string() }}) as legal_entity_code,
        {{ dbt.concat([
            "'card charge '", 'recon.stripe_charge_id', "' (invoice '", "coalesce(recon.invoice_number, '?')",
            "'): Stripe '", 'cast(recon.stripe_amount as ' ~ dbt.type_string() ~ ')',
            "', ERP applied '", 'cast(recon.erp_applied_amount as ' ~ dbt.type_string() ~ ')',
            "' '", "coalesce(recon.currency_code, '')"]) }} as reason,
        recon.difference_amount_reporting as amount_at_risk,
        {{ governance_correlation("'stripe'", "'stripe'", "'charges'", 'recon.stripe_charge_id',
                                  'loads.latest_load_id') }} as correlation_id
    from {{ ref('reconciliation_payments') }} as recon
    left join loads on loads.source_system = 'stripe' and loads.source_connection = 'stripe'
    where recon.has_unexplained_difference
),

receivable_differences as (
    select
        'unexplained_receivable_difference' as exception_kind,
        'high' as severity,
        'invoice' as object_type,
        recon.invoice_key as object_key,
        cast(null as {{ dbt.type_string() }}) as canonical_id,
        recon.source_system,
        recon.source_relation as source_connection,
        recon.invoice_number as source_id,
        recon.source_system as owner_system,
        recon.legal_entity_code,
        {{ dbt.concat([
            "'invoice '", 'recon.invoice_number', "': total - credits - payments = '",
            'cast(recon.computed_open_amount as ' ~ dbt.type_string() ~ ')', "', the ERP says '",
            "coalesce(cast(recon.erp_open_amount as " ~ dbt.type_string() ~ "), 'nothing')",
            "' '", 'recon.currency_code']) }} as reason,
        recon.difference_amount_reporting as amount_at_risk,
        {{ governance_correlation('recon.source_system', 'recon.source_relation', "'invoice'",
                                  'recon.invoice_number', 'loads.latest_load_id') }} as correlation_id
    from {{ ref('reconciliation_receivables') }} as recon
    left join loads
        on loads.source_system = recon.source_system and loads.source_connection = recon.source_relation
    where recon.has_unexplained_difference
),

detected as (
    select * from time_differences
    union all
    select * from invoice_differences
    union all
    select * from payment_differences
    union all
    select * from receivable_differences
)

{{ governance_detected('detected', 'reconciliation') }}
