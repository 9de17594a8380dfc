-- Time exceptions: approved PSA time the ERP has not posted var time_posting_days after its
-- approval (time_not_posted; the PSA exposes no approval timestamp, so an approved entry's last
-- change, its approval or a later invoicing, stands for it: never earlier than the approval),
-- and time dated after the ERP closed its project (time_on_closed_project).
{% set posting_days = var('time_posting_days', 5) %}

with entries as (
    select * from {{ ref('fct_time_entry') }}
),

projects as (
    select * from {{ ref('dim_project') }}
    where not is_internal
),

as_of as (
    select as_of_date from {{ ref('int_governance_as_of') }}
),

psa_loads as (
    select * from {{ ref('int_governance_loads') }} where source_system = 'psa'
),

entry_context as (
    select
        entries.*,
        projects.erp_system,
        projects.erp_connection,
        projects.erp_project_record_id,
        projects.erp_project_code,
        projects.psa_project_code,
        projects.legal_entity_code,
        projects.erp_closed_at,
        {{ dbt.split_part('entries.project_key', "'|'", 2) }} as psa_connection,
        psa_loads.latest_load_id
    from entries
    inner join projects on projects.project_key = entries.project_key
    left join psa_loads
        on psa_loads.source_connection = {{ dbt.split_part('entries.project_key', "'|'", 2) }}
),

not_posted as (
    select
        'time_not_posted' as exception_kind,
        case when entry_context.is_billable then 'medium' else 'low' end as severity,
        'time_entry' as object_type,
        entry_context.time_entry_id as object_key,
        entry_context.project_key as canonical_id,
        'psa' as source_system,
        entry_context.psa_connection as source_connection,
        entry_context.time_entry_id as source_id,
        entry_context.erp_system as owner_system,
        entry_context.legal_entity_code,
        {{ dbt.concat([
            "'approved time entry '", 'entry_context.time_entry_id', "' ('",
            'cast(entry_context.hours as ' ~ dbt.type_string() ~ ')', "' h on '",
            'cast(entry_context.work_date as ' ~ dbt.type_string() ~ ')', "', project '",
            "coalesce(entry_context.erp_project_code, entry_context.project_key)",
            "') is not posted to '", 'entry_context.erp_system', "'/'", 'entry_context.erp_connection',
            "'; unchanged in the PSA since '",
            'cast(cast(entry_context.modified_at as date) as ' ~ dbt.type_string() ~ ')']) }} as reason,
        entry_context.bill_amount_reporting as amount_at_risk,
        {{ governance_correlation("'psa'", 'entry_context.psa_connection', "'time_entries'",
                                  'entry_context.time_entry_id', 'entry_context.latest_load_id') }}
            as correlation_id
    from entry_context
    cross join as_of
    where entry_context.is_approved
        and not entry_context.is_posted_to_erp
        and entry_context.erp_project_record_id is not null
        and cast(entry_context.modified_at as date) <= {{ dbt.dateadd('day', '-' ~ posting_days, 'as_of.as_of_date') }}
),

on_closed_project as (
    select
        'time_on_closed_project' as exception_kind,
        case when entry_context.is_billable then 'medium' else 'low' end as severity,
        'time_entry' as object_type,
        entry_context.time_entry_id as object_key,
        entry_context.project_key as canonical_id,
        'psa' as source_system,
        entry_context.psa_connection as source_connection,
        entry_context.time_entry_id as source_id,
        'psa' as owner_system,
        entry_context.legal_entity_code,
        {{ dbt.concat([
            "'time entry '", 'entry_context.time_entry_id', "' ('",
            'cast(entry_context.hours as ' ~ dbt.type_string() ~ ')', "' h) is dated '",
            'cast(entry_context.work_date as ' ~ dbt.type_string() ~ ')', "', after '",
            'entry_context.erp_system', "' closed project '",
            "coalesce(entry_context.erp_project_code, entry_context.project_key)", "' on '",
            'cast(cast(entry_context.erp_closed_at as date) as ' ~ dbt.type_string() ~ ')']) }} as reason,
        entry_context.bill_amount_reporting as amount_at_risk,
        {{ governance_correlation("'psa'", 'entry_context.psa_connection', "'time_entries'",
                                  'entry_context.time_entry_id', 'entry_context.latest_load_id') }}
            as correlation_id
    from entry_context
    where entry_context.erp_closed_at is not null
        and entry_context.work_date > cast(entry_context.erp_closed_at as date)
),

detected as (
    select * from not_posted
    union all
    select * from on_closed_project
)

{{ governance_detected('detected', 'time') }}
