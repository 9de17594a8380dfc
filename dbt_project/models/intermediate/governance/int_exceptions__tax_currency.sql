-- Tax and currency exceptions: a tax id that fails its scheme's check (python-stdnum, run by the
-- customer master: customer_xref.tax_id_is_valid), two valid tax ids of one scheme for what the
-- master holds as one customer or queues only because of the tax ids (tax_id_conflict; the ERP,
-- system of record for tax ids, holds the record to check), an invoice in a currency its legal entity may
-- not invoice in (seed legal_entities), and an invoice no reporting-currency rate converts.
with xref as (
    select * from {{ ref('customer_xref') }}
    where not is_deleted
),

loads as (
    select * from {{ ref('int_governance_loads') }}
),

invalid_tax_ids as (
    select
        'tax_id_invalid' as exception_kind,
        'medium' as severity,
        'customer' as object_type,
        xref.customer_record_key as object_key,
        xref.canonical_customer_id as canonical_id,
        xref.source_system,
        xref.source_relation as source_connection,
        xref.source_record_id as source_id,
        xref.source_system as owner_system,
        xref.legal_entity_code,
        {{ dbt.concat([
            "'tax id '", "coalesce(xref.tax_id_compact, '?')", "' of '",
            "coalesce(xref.customer_name, xref.source_record_id)", "' fails the '",
            "coalesce(xref.tax_id_scheme, 'tax id')", "' check'"]) }} as reason,
        cast(null as numeric(18, 2)) as amount_at_risk,
        {{ governance_correlation('xref.source_system', 'xref.source_relation', 'xref.source_object',
                                  'xref.source_record_id', 'loads.latest_load_id') }} as correlation_id
    from xref
    left join loads
        on loads.source_system = xref.source_system and loads.source_connection = xref.source_relation
    where xref.tax_id_is_valid = false
),

-- pairs of canonical customers held to be one client but for their tax ids: each customer
-- with itself, and the steward-queue pairs the master matched on everything but a tax id conflict
linked_customers as (
    select distinct canonical_customer_id as customer_a, canonical_customer_id as customer_b from xref
    union
    select canonical_customer_id_a, canonical_customer_id_b
    from {{ ref('exceptions_customer_match_review') }}
    where reason like '%tax_id_conflict%'
),

valid_tax_ids as (
    select * from xref where tax_id_is_valid and tax_id_compact is not null
),

conflicts as (
    select
        one.customer_record_key as record_key,
        other.customer_record_key as other_record_key,
        one.source_system in ('netsuite', 'dynamics') as one_is_erp,
        other.source_system in ('netsuite', 'dynamics') as other_is_erp
    from linked_customers as link
    inner join valid_tax_ids as one on one.canonical_customer_id = link.customer_a
    inner join valid_tax_ids as other on other.canonical_customer_id = link.customer_b
    where one.tax_id_scheme = other.tax_id_scheme
        and coalesce(one.country_code, '') = coalesce(other.country_code, '')
        and one.tax_id_compact <> other.tax_id_compact
),

-- the record to check: the ERP's (system of record for tax ids), or both when neither or both
-- sides are ERP records
conflict_records as (
    select record_key, other_record_key from conflicts
    where one_is_erp or not other_is_erp
    union
    select other_record_key, record_key from conflicts
    where other_is_erp or not one_is_erp
),

conflict_evidence as (
    select
        conflict_records.record_key,
        {{ dbt.listagg(dbt.concat(["other.tax_id_compact", "' in '", "other.customer_record_key"]), "', '",
                       "order by other.customer_record_key") }} as other_values
    from conflict_records
    inner join xref as other on other.customer_record_key = conflict_records.other_record_key
    group by conflict_records.record_key
),

tax_id_conflicts as (
    select
        'tax_id_conflict' as exception_kind,
        'medium' as severity,
        'customer' as object_type,
        xref.customer_record_key as object_key,
        xref.canonical_customer_id as canonical_id,
        xref.source_system,
        xref.source_relation as source_connection,
        xref.source_record_id as source_id,
        xref.source_system as owner_system,
        xref.legal_entity_code,
        {{ dbt.concat([
            "'tax id '", 'xref.tax_id_compact', "' of '", "coalesce(xref.customer_name, xref.source_record_id)",
            "' conflicts with '", 'conflict_evidence.other_values']) }} as reason,
        cast(null as numeric(18, 2)) as amount_at_risk,
        {{ governance_correlation('xref.source_system', 'xref.source_relation', 'xref.source_object',
                                  'xref.source_record_id', 'loads.latest_load_id') }} as correlation_id
    from conflict_evidence
    inner join xref on xref.customer_record_key = conflict_evidence.record_key
    left join loads
        on loads.source_system = xref.source_system and loads.source_connection = xref.source_relation
),

invoices as (
    select
        invoices.*,
        entities.allowed_currency_codes,
        loads.latest_load_id
    from {{ ref('fct_invoice') }} as invoices
    left join {{ ref('legal_entities') }} as entities
        on entities.legal_entity_code = invoices.legal_entity_code
    left join loads
        on loads.source_system = invoices.source_system
        and loads.source_connection = invoices.source_relation
),

currency_not_allowed as (
    select
        'invoice_currency_not_allowed' as exception_kind,
        'high' as severity,
        'invoice' as object_type,
        invoice_key as object_key,
        cast(null as {{ dbt.type_string() }}) as canonical_id,
        source_system,
        source_relation as source_connection,
        invoice_number as source_id,
        source_system as owner_system,
        legal_entity_code,
        {{ dbt.concat([
            "'invoice '", 'invoice_number', "' is in '", 'currency_code', "'; '", 'legal_entity_code',
            "' may invoice in '", "coalesce(allowed_currency_codes, 'nothing configured')"]) }} as reason,
        total_amount_reporting as amount_at_risk,
        {{ governance_correlation('source_system', 'source_relation', "'invoice'", 'invoice_number',
                                  'latest_load_id') }} as correlation_id
    from invoices
    where allowed_currency_codes is null
        or {{ dbt.position(dbt.concat(["' '", 'currency_code', "' '"]),
                           dbt.concat(["' '", 'allowed_currency_codes', "' '"])) }} = 0
),

missing_rates as (
    select
        'missing_fx_rate' as exception_kind,
        'high' as severity,
        'invoice' as object_type,
        invoice_key as object_key,
        cast(null as {{ dbt.type_string() }}) as canonical_id,
        source_system,
        source_relation as source_connection,
        invoice_number as source_id,
        'conform' as owner_system,
        legal_entity_code,
        {{ dbt.concat([
            "'no '", 'currency_code', "' to '", "'" ~ var('reporting_currency') ~ "'",
            "' rate in any ERP on or within 10 days before '",
            'cast(invoice_date as ' ~ dbt.type_string() ~ ')', "' for invoice '", 'invoice_number',
            "' ('", 'cast(total_amount as ' ~ dbt.type_string() ~ ')', "' '", 'currency_code',
            "' cannot be reported)'"]) }} as reason,
        cast(null as numeric(18, 2)) as amount_at_risk,
        {{ governance_correlation('source_system', 'source_relation', "'invoice'", 'invoice_number',
                                  'latest_load_id') }} as correlation_id
    from invoices
    where not has_reporting_rate
),

detected as (
    select * from invalid_tax_ids
    union all
    select * from tax_id_conflicts
    union all
    select * from currency_not_allowed
    union all
    select * from missing_rates
)

{{ governance_detected('detected', 'tax_currency') }}
