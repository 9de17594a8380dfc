-- Customer exceptions, from the customer master's state (customer_xref, the steward queue) and
-- the project links: the same client held twice in one system (duplicate_customer), a pair the
-- master could not decide (uncertain_customer_match), and a client the PSA bills from a legal
-- entity whose ERP holds no customer for it (customer_missing_in_erp).
with xref as (
    select * from {{ ref('customer_xref') }}
    where not is_deleted
),

loads as (
    select * from {{ ref('int_governance_loads') }}
),

duplicate_groups as (
    select
        canonical_customer_id,
        source_system,
        source_relation,
        max(source_object) as source_object,
        max(legal_entity_code) as legal_entity_code,
        count(*) as record_count,
        {{ dbt.listagg('source_record_id', "';'", "order by source_record_id") }} as source_ids,
        {{ dbt.listagg('customer_name', "' | '", "order by source_record_id") }} as names
    from xref
    group by canonical_customer_id, source_system, source_relation
    having count(*) > 1
),

duplicates as (
    select
        'duplicate_customer' as exception_kind,
        'medium' as severity,
        'customer' as object_type,
        {{ dbt.concat(['d.canonical_customer_id', "'|'", 'd.source_system', "'|'", 'd.source_relation']) }}
            as object_key,
        d.canonical_customer_id as canonical_id,
        d.source_system,
        d.source_relation as source_connection,
        d.source_ids as source_id,
        d.source_system as owner_system,
        d.legal_entity_code,
        {{ dbt.concat([
            "'the customer is held '", 'cast(d.record_count as ' ~ dbt.type_string() ~ ')',
            "' times in '", 'd.source_system', "'/'", 'd.source_relation', "': '", 'd.source_ids',
            "' ('", 'd.names', "'); merge them in the source'"]) }} as reason,
        cast(null as numeric(18, 2)) as amount_at_risk,
        {{ governance_correlation('d.source_system', 'd.source_relation', 'd.source_object',
                                  'd.source_ids', 'loads.latest_load_id') }} as correlation_id
    from duplicate_groups as d
    left join loads
        on loads.source_system = d.source_system and loads.source_connection = d.source_relation
),

review as (
    select * from {{ ref('exceptions_customer_match_review') }}
),

uncertain as (
    select
        'uncertain_customer_match' as exception_kind,
        'low' as severity,
        'customer_pair' as object_type,
        review.review_pair_key as object_key,
        review.canonical_customer_id_a as canonical_id,
        review.source_system_a as source_system,
        a.source_relation as source_connection,
        review.review_pair_key as source_id,
        'conform' as owner_system,
        coalesce(a.legal_entity_code, b.legal_entity_code) as legal_entity_code,
        {{ dbt.concat([
            'review.reason', "': '", "coalesce(review.customer_name_a, '?')", "' ('",
            'review.record_key_a', "', '", 'review.canonical_customer_id_a', "') vs '",
            "coalesce(review.customer_name_b, '?')", "' ('", 'review.record_key_b', "', '",
            'review.canonical_customer_id_b', "'), name score '",
            'cast(review.name_score as ' ~ dbt.type_string() ~ ')',
            "'; decide it in steward_decisions'"]) }} as reason,
        cast(null as numeric(18, 2)) as amount_at_risk,
        {{ governance_correlation('review.source_system_a', 'a.source_relation', 'a.source_object',
                                  'a.source_record_id', 'loads.latest_load_id') }} as correlation_id
    from review
    inner join xref as a on a.customer_record_key = review.record_key_a
    left join xref as b on b.customer_record_key = review.record_key_b
    left join loads
        on loads.source_system = a.source_system and loads.source_connection = a.source_relation
),

-- PSA clients with client work in a legal entity: when none of that work has an ERP project,
-- the client's canonical customer holds no customer record in that entity and no customer there
-- has the same normalised name (an unlinked one is the steward queue's business), the ERP it is
-- billed from does not know the customer.
psa_client_work as (
    select
        projects.psa_customer_record_id,
        projects.legal_entity_code,
        max(case when projects.erp_project_record_id is not null then 1 else 0 end) as has_erp_project,
        {{ dbt.listagg('projects.psa_workspace_id', "';'", "order by projects.psa_workspace_id") }}
            as workspace_ids
    from {{ ref('dim_project') }} as projects
    where projects.psa_workspace_id is not null
        and not projects.is_internal
        and projects.psa_customer_record_id is not null
    group by projects.psa_customer_record_id, projects.legal_entity_code
),

wip as (
    select
        projects.psa_customer_record_id,
        projects.legal_entity_code,
        sum(entries.bill_amount_reporting) as unbilled_amount
    from {{ ref('fct_time_entry') }} as entries
    inner join {{ ref('dim_project') }} as projects on projects.project_key = entries.project_key
    where entries.billing_status = 'unbilled_wip'
    group by projects.psa_customer_record_id, projects.legal_entity_code
),

missing_in_erp as (
    select
        'customer_missing_in_erp' as exception_kind,
        'high' as severity,
        'customer' as object_type,
        {{ dbt.concat(['psa.canonical_customer_id', "'|'", 'work.legal_entity_code']) }} as object_key,
        psa.canonical_customer_id as canonical_id,
        psa.source_system,
        psa.source_relation as source_connection,
        psa.source_record_id as source_id,
        entities.erp_system as owner_system,
        work.legal_entity_code,
        {{ dbt.concat([
            "'PSA client '", "coalesce(psa.customer_name, psa.source_record_id)",
            "' is billed from '", 'work.legal_entity_code', "' (workspaces '", 'work.workspace_ids',
            "') but '", "coalesce(entities.erp_system, 'its ERP')", "'/'",
            "coalesce(entities.erp_connection, '?')", "' holds no customer for it'"]) }} as reason,
        cast(wip.unbilled_amount as numeric(18, 2)) as amount_at_risk,
        {{ governance_correlation('psa.source_system', 'psa.source_relation', 'psa.source_object',
                                  'psa.source_record_id', 'loads.latest_load_id') }} as correlation_id
    from psa_client_work as work
    inner join xref as psa
        on psa.source_system = 'psa' and psa.source_record_id = work.psa_customer_record_id
    left join {{ ref('legal_entities') }} as entities
        on entities.legal_entity_code = work.legal_entity_code
    left join wip
        on wip.psa_customer_record_id = work.psa_customer_record_id
        and wip.legal_entity_code = work.legal_entity_code
    left join loads
        on loads.source_system = psa.source_system and loads.source_connection = psa.source_relation
    where work.has_erp_project = 0
        and not exists (
            select 1 from xref as erp
            where erp.canonical_customer_id = psa.canonical_customer_id
                and erp.source_system in ('netsuite', 'dynamics')
                and erp.legal_entity_code = work.legal_entity_code
        )
        and not exists (
            select 1 from xref as erp
            where erp.name_normalized = psa.name_normalized
                and erp.source_system in ('netsuite', 'dynamics')
                and erp.legal_entity_code = work.legal_entity_code
        )
),

detected as (
    select * from duplicates
    union all
    select * from uncertain
    union all
    select * from missing_in_erp
)

{{ governance_detected('detected', 'customers') }}
