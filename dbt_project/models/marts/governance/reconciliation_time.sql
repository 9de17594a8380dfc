-- Grain: project x month. PSA approved billable hours vs billable hours the ERP posted for the
-- project, the difference and its value at the PSA's billed rates (reporting currency). Each
-- approved billable entry the ERP does not hold is explained by an open exception on it or its
-- project (time_not_posted, time_on_closed_project, psa_project_without_erp, ...), or in transit
-- (within var time_posting_days of its last PSA change, or its workspace within
-- var project_setup_days of creation); what remains is unexplained.
{% set posting_days = var('time_posting_days', 5) %}
{% set setup_days = var('project_setup_days', 7) %}

with projects as (
    select * from {{ ref('dim_project') }}
),

as_of as (
    select as_of_date from {{ ref('int_governance_as_of') }}
),

posted as (
    select
        posted.psa_time_entry_id,
        posted.work_date,
        posted.hours,
        posted.is_billable,
        coalesce(projects.project_key, {{ dbt.concat([
            'posted.source_system', "'|'", 'posted.source_relation', "'|'", 'posted.project_source_record_id']) }})
            as project_key
    from {{ ref('int_posted_hours') }} as posted
    left join projects
        on projects.erp_system = posted.source_system
            and projects.erp_connection = posted.source_relation
            and projects.erp_project_record_id = posted.project_source_record_id
),

posted_by_entry as (
    select psa_time_entry_id, sum(hours) as hours
    from posted
    where is_billable
    group by psa_time_entry_id
),

known_exceptions as (
    select object_key from {{ ref('int_exceptions__time') }}
    union
    select object_key from {{ ref('int_exceptions__projects') }}
    where exception_kind in ('psa_project_without_erp', 'ambiguous_project_match')
),

workspaces as (
    select source_relation, workspace_id, created_at from {{ ref('stg_psa__workspaces') }}
),

entries as (
    select
        entries.project_key,
        entries.month_start,
        entries.time_entry_id,
        entries.billable_hours,
        entries.bill_amount_reporting,
        coalesce(posted_by_entry.hours, 0) as posted_hours,
        case
            when posted_by_entry.hours is not null then 'posted'
            when entry_exceptions.object_key is not null or project_exceptions.object_key is not null
                then 'explained'
            when cast(entries.modified_at as date) > {{ dbt.dateadd('day', '-' ~ posting_days, 'as_of.as_of_date') }}
                then 'in_transit'
            when projects.erp_project_record_id is null
                and cast(workspaces.created_at as date) > {{ dbt.dateadd('day', '-' ~ setup_days, 'as_of.as_of_date') }}
                then 'in_transit'
            else 'unexplained'
        end as posting_state
    from {{ ref('fct_time_entry') }} as entries
    cross join as_of
    left join posted_by_entry on posted_by_entry.psa_time_entry_id = entries.time_entry_id
    left join projects on projects.project_key = entries.project_key
    left join workspaces
        on workspaces.source_relation = {{ dbt.split_part('entries.project_key', "'|'", 2) }}
            and workspaces.workspace_id = projects.psa_workspace_id
    left join known_exceptions as entry_exceptions on entry_exceptions.object_key = entries.time_entry_id
    left join known_exceptions as project_exceptions on project_exceptions.object_key = entries.project_key
    where entries.is_approved
        and entries.is_billable
        and not coalesce(projects.is_internal, false)
),

psa_side as (
    select
        project_key,
        month_start,
        count(*) as psa_entry_count,
        sum(billable_hours) as psa_hours,
        sum(bill_amount_reporting) as psa_value,
        sum(case when posting_state = 'explained' then billable_hours - posted_hours else 0 end)
            as explained_hours,
        sum(case when posting_state = 'in_transit' then billable_hours - posted_hours else 0 end)
            as in_transit_hours
    from entries
    group by project_key, month_start
),

erp_side as (
    select
        project_key,
        cast({{ dbt.date_trunc('month', 'work_date') }} as date) as month_start,
        sum(hours) as erp_hours
    from posted
    where is_billable
    group by project_key, cast({{ dbt.date_trunc('month', 'work_date') }} as date)
),

compared as (
    select
        coalesce(psa_side.project_key, erp_side.project_key) as project_key,
        coalesce(psa_side.month_start, erp_side.month_start) as month_start,
        coalesce(psa_side.psa_entry_count, 0) as psa_entry_count,
        coalesce(psa_side.psa_hours, 0) as psa_hours,
        coalesce(erp_side.erp_hours, 0) as erp_hours,
        coalesce(psa_side.explained_hours, 0) as explained_hours,
        coalesce(psa_side.in_transit_hours, 0) as in_transit_hours,
        psa_side.psa_value / nullif(psa_side.psa_hours, 0) as rate_reporting
    from psa_side
    full outer join erp_side
        on erp_side.project_key = psa_side.project_key
            and erp_side.month_start = psa_side.month_start
)

select
    {{ dbt.concat(['compared.project_key', "'|'", 'cast(compared.month_start as ' ~ dbt.type_string() ~ ')']) }}
        as reconciliation_key,
    compared.project_key,
    cast(compared.month_start as date) as month_start,
    projects.erp_system,
    projects.erp_connection,
    projects.legal_entity_code,
    cast(compared.psa_entry_count as bigint) as psa_entry_count,
    cast(compared.psa_hours as double precision) as psa_approved_billable_hours,
    cast(compared.erp_hours as double precision) as erp_posted_billable_hours,
    cast(compared.psa_hours - compared.erp_hours as double precision) as difference_hours,
    cast((compared.psa_hours - compared.erp_hours) * compared.rate_reporting as numeric(18, 2))
        as difference_amount_reporting,
    cast(compared.explained_hours as double precision) as explained_hours,
    cast(compared.in_transit_hours as double precision) as in_transit_hours,
    cast(
        round(cast(
            compared.psa_hours - compared.erp_hours - compared.explained_hours - compared.in_transit_hours
            as numeric(18, 4)
        ), 2) as double precision
    ) as unexplained_hours,
    cast(
        (compared.psa_hours - compared.erp_hours - compared.explained_hours - compared.in_transit_hours)
        * compared.rate_reporting as numeric(18, 2)
    ) as unexplained_amount_reporting,
    abs(compared.psa_hours - compared.erp_hours) > 0.005 as has_difference,
    abs(compared.psa_hours - compared.erp_hours - compared.explained_hours - compared.in_transit_hours) > 0.005
        as has_unexplained_difference
from compared
left join projects on projects.project_key = compared.project_key
