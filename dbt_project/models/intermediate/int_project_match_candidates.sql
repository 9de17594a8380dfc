-- Candidate PSA workspace <-> ERP project pairs, with the evidence that links them, in order of
-- strength: the ERP project id the PSA holds, the PSA code the ERP holds; then, only for
-- records neither id links, time the ERP posted from the workspace's PSA entries, or the same
-- project name, legal entity and start date (the PSA's ERP Project ID field is empty on some
-- workspaces: the link is data, not a fault). dim_project keeps a pair only when it is the
-- workspace's only candidate and the ERP project's only claimant.
with psa as (
    select * from {{ ref('int_project_records') }}
    where source_system = 'psa'
),

erp as (
    select
        *,
        upper(replace(project_code, ' ', '-')) as code_normalized
    from {{ ref('int_project_records') }}
    where source_system in ('netsuite', 'dynamics')
),

by_id as (
    select
        psa.project_record_key as psa_key,
        erp.project_record_key as erp_key,
        case
            when upper(replace(psa.erp_project_ref, ' ', '-')) = erp.code_normalized then 'erp_project_id_in_psa'
            else 'psa_code_in_erp'
        end as match_rule
    from psa
    inner join erp
        on upper(replace(psa.erp_project_ref, ' ', '-')) = erp.code_normalized
        or (erp.psa_project_code_ref = psa.project_code and erp.psa_project_code_ref is not null)
),

psa_unlinked as (
    select * from psa
    where project_record_key not in (select by_id.psa_key from by_id)
),

erp_unlinked as (
    select * from erp
    where project_record_key not in (select by_id.erp_key from by_id)
),

by_posted_time as (
    select distinct
        psa_unlinked.project_record_key as psa_key,
        erp_unlinked.project_record_key as erp_key
    from psa_unlinked
    inner join {{ ref('int_time_entries__psa') }} as entries
        on entries.source_relation = psa_unlinked.source_relation
        and entries.workspace_id = psa_unlinked.source_record_id
    inner join {{ ref('int_posted_hours') }} as posted
        on posted.psa_time_entry_id = entries.time_entry_id
    inner join erp_unlinked
        on erp_unlinked.source_system = posted.source_system
        and erp_unlinked.source_relation = posted.source_relation
        and erp_unlinked.source_record_id = posted.project_source_record_id
),

by_name as (
    select
        psa_unlinked.project_record_key as psa_key,
        erp_unlinked.project_record_key as erp_key
    from psa_unlinked
    inner join erp_unlinked
        on erp_unlinked.project_name = psa_unlinked.project_name
        and erp_unlinked.legal_entity_code = psa_unlinked.legal_entity_code
        and erp_unlinked.start_date = psa_unlinked.start_date
),

linked as (
    select psa_key, erp_key, 'posted_time' as match_rule from by_posted_time
    union all
    select by_name.psa_key, by_name.erp_key, 'same_name_entity_and_start' as match_rule
    from by_name
    where not exists (
        select 1 from by_posted_time
        where by_posted_time.psa_key = by_name.psa_key and by_posted_time.erp_key = by_name.erp_key
    )
)

select psa_key, erp_key, match_rule from by_id
union all
select psa_key, erp_key, match_rule from linked
