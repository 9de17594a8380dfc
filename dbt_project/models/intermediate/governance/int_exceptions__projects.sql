-- Project exceptions: projects missing a financial dimension (no ERP project, cost center, legal
-- entity, tax setting or billing method) and PSA/ERP projects without a counterpart. A PSA
-- workspace gets var project_setup_days to have its ERP project opened before it is raised.
{% set setup_days = var('project_setup_days', 7) %}

with projects as (
    select * from {{ ref('dim_project') }}
),

as_of as (
    select as_of_date from {{ ref('int_governance_as_of') }}
),

loads as (
    select * from {{ ref('int_governance_loads') }}
),

workspaces as (
    select source_relation, workspace_id, created_at from {{ ref('stg_psa__workspaces') }}
),

entities as (
    select * from {{ ref('legal_entities') }}
),

wip as (
    -- approved billable time not yet on an invoice, per project (reporting currency)
    select project_key, sum(bill_amount_reporting) as unbilled_amount
    from {{ ref('fct_time_entry') }}
    where billing_status = 'unbilled_wip'
    group by project_key
),

unmatched as (
    select
        match.*,
        projects.psa_customer_record_id,
        projects.is_internal,
        entities.erp_system as entity_erp_system,
        workspaces.created_at,
        wip.unbilled_amount,
        loads.latest_load_id
    from {{ ref('exceptions_project_match') }} as match
    inner join projects on projects.project_key = match.project_record_key
    left join entities on entities.legal_entity_code = match.legal_entity_code
    left join workspaces
        on match.source_system = 'psa'
        and workspaces.source_relation = match.source_relation
        and workspaces.workspace_id = match.source_record_id
    left join wip on wip.project_key = match.project_record_key
    left join loads
        on loads.source_system = match.source_system and loads.source_connection = match.source_relation
),

without_counterpart as (
    select
        case match.reason
            when 'psa_project_without_erp_project' then 'psa_project_without_erp'
            when 'erp_project_without_psa_project' then 'erp_project_without_psa'
            else 'ambiguous_project_match'
        end as exception_kind,
        case when match.reason = 'psa_project_without_erp_project' then 'high' else 'medium' end as severity,
        'project' as object_type,
        match.project_record_key as object_key,
        match.project_record_key as canonical_id,
        match.source_system,
        match.source_relation as source_connection,
        match.source_record_id as source_id,
        case
            when match.reason = 'psa_project_without_erp_project' then coalesce(match.entity_erp_system, 'erp')
            else 'psa'
        end as owner_system,
        match.legal_entity_code,
        {{ dbt.concat([
            "case match.reason"
            ~ " when 'psa_project_without_erp_project' then 'PSA workspace '"
            ~ " when 'erp_project_without_psa_project' then 'ERP project '"
            ~ " else 'project ' end",
            "coalesce(match.project_code, match.source_record_id)", "' ('", "coalesce(match.project_name, '')",
            "', '", "coalesce(match.legal_entity_code, 'no legal entity')", "'): '",
            "case match.reason"
            ~ " when 'psa_project_without_erp_project' then 'no ERP project holds it'"
            ~ " when 'erp_project_without_psa_project' then 'no PSA workspace holds it'"
            ~ " else replace(match.reason, '_', ' ') end",
            "case when match.candidate_count > 1 then "
            ~ dbt.concat(["' ('", "cast(match.candidate_count as " ~ dbt.type_string() ~ ")", "' candidates)'"])
            ~ " else '' end"]) }} as reason,
        case
            when match.reason = 'psa_project_without_erp_project' then cast(match.unbilled_amount as numeric(18, 2))
        end as amount_at_risk,
        {{ governance_correlation('match.source_system', 'match.source_relation',
                                  "case when match.source_system = 'psa' then 'workspaces' else 'project' end",
                                  'match.source_record_id', 'match.latest_load_id') }} as correlation_id
    from unmatched as match
    cross join as_of
    where match.source_system <> 'psa'
        or match.created_at is null
        or cast(match.created_at as date) <= {{ dbt.dateadd('day', '-' ~ setup_days, 'as_of.as_of_date') }}
),

erp_projects as (
    select
        projects.*,
        loads.latest_load_id,
        entities.legal_entity_code as known_entity,
        entities.vat_rate
    from projects
    left join loads
        on loads.source_system = projects.erp_system and loads.source_connection = projects.erp_connection
    left join entities on entities.legal_entity_code = projects.legal_entity_code
),

missing_dimensions as (
    {% set dimensions = [
        ('project_missing_cost_center', "erp_project_record_id is not null and cost_center is null",
         "'no cost center'", 'erp'),
        ('project_missing_legal_entity', "not is_internal and known_entity is null",
         dbt.concat(["'no legal entity the firm knows (got '", "coalesce(legal_entity_code, 'none')", "')'"]), 'erp'),
        ('project_missing_tax_setting', "not is_internal and known_entity is not null and vat_rate is null",
         dbt.concat(["'legal entity '", 'legal_entity_code', "' has no VAT rate configured'"]), 'conform'),
    ] %}
    {% for kind, condition, why, owner in dimensions %}
    select
        '{{ kind }}' as exception_kind,
        'medium' as severity,
        'project' as object_type,
        project_key as object_key,
        project_key as canonical_id,
        coalesce(erp_system, 'psa') as source_system,
        coalesce(erp_connection, 'psa') as source_connection,
        coalesce(erp_project_record_id, psa_workspace_id) as source_id,
        {% if owner == 'erp' %}coalesce(erp_system, 'psa'){% else %}'{{ owner }}'{% endif %} as owner_system,
        legal_entity_code,
        {{ dbt.concat([
            "'project '", "coalesce(erp_project_code, psa_project_code, project_key)", "' ('",
            "coalesce(project_name, '')", "'): '", why]) }} as reason,
        cast(null as numeric(18, 2)) as amount_at_risk,
        {{ governance_correlation("coalesce(erp_system, 'psa')", "coalesce(erp_connection, 'psa')",
                                  "case when erp_system is null then 'workspaces' else 'project' end",
                                  'coalesce(erp_project_record_id, psa_workspace_id)', 'latest_load_id') }}
            as correlation_id
    from erp_projects
    where {{ condition }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

psa_loads as (
    select * from loads where source_system = 'psa'
),

missing_billing_method as (
    -- the PSA owns delivery structure: its workspace must say how the work is billed
    select
        'project_missing_billing_method' as exception_kind,
        'medium' as severity,
        'project' as object_type,
        records.project_record_key as object_key,
        records.project_record_key as canonical_id,
        records.source_system,
        records.source_relation as source_connection,
        records.source_record_id as source_id,
        'psa' as owner_system,
        records.legal_entity_code,
        {{ dbt.concat([
            "'PSA workspace '", "coalesce(records.project_code, records.source_record_id)", "' ('",
            "coalesce(records.project_name, '')", "'): no billing method'"]) }} as reason,
        cast(wip.unbilled_amount as numeric(18, 2)) as amount_at_risk,
        {{ governance_correlation('records.source_system', 'records.source_relation', "'workspaces'",
                                  'records.source_record_id', 'psa_loads.latest_load_id') }} as correlation_id
    from {{ ref('int_project_records') }} as records
    left join wip on wip.project_key = records.project_record_key
    left join psa_loads on psa_loads.source_connection = records.source_relation
    where records.source_system = 'psa'
        and records.billing_method is null
),

detected as (
    select * from without_counterpart
    union all
    select * from missing_dimensions
    union all
    select * from missing_billing_method
)

{{ governance_detected('detected', 'projects') }}
