-- Projects the PSA and the ERPs do not agree on: a PSA workspace without an ERP project (unless
-- it is internal), an ERP project without a PSA workspace, and ambiguous matches (one workspace
-- matching several ERP projects by ERP id / PSA code, or one ERP project claimed by several
-- workspaces), which dim_project leaves unmatched.
with

projects as (
    select * from {{ ref('int_project_records') }}
),

psa as (
    select * from projects
    where source_system = 'psa'
),

erp as (
    select *, upper(replace(project_code, ' ', '-')) as code_normalized
    from projects
    where source_system in ('netsuite', 'dynamics')
),

candidates as (
    select psa_key, erp_key from {{ ref('int_project_match_candidates') }}
),

psa_counts as (
    select psa_key, count(*) as n from candidates
    group by psa_key
),

erp_counts as (
    select erp_key, count(*) as n from candidates
    group by erp_key
),

dim as (
    select * from {{ ref('dim_project') }}
),

exceptions as (
    select
        psa.project_record_key,
        psa.source_system,
        psa.source_relation,
        psa.source_record_id,
        psa.project_code,
        psa.project_name,
        psa.legal_entity_code,
        case
            when psa_counts.n > 1 then 'ambiguous_psa_matches_several_erp_projects'
            when exists (
                    select 1 as shared from candidates as c inner join erp_counts as e on e.erp_key = c.erp_key
                    where c.psa_key = psa.project_record_key and e.n > 1
                ) then 'ambiguous_erp_project_claimed_by_several_workspaces'
            else 'psa_project_without_erp_project'
        end as reason,
        psa_counts.n as candidate_count
    from psa
    left join psa_counts on psa_counts.psa_key = psa.project_record_key
    inner join dim on dim.project_key = psa.project_record_key
    where dim.erp_project_record_id is null
        and not dim.is_internal

    union all

    select
        erp.project_record_key,
        erp.source_system,
        erp.source_relation,
        erp.source_record_id,
        erp.project_code,
        erp.project_name,
        erp.legal_entity_code,
        case
            when erp_counts.n > 1 then 'ambiguous_erp_project_claimed_by_several_workspaces'
            else 'erp_project_without_psa_project'
        end as reason,
        erp_counts.n as candidate_count
    from erp
    left join erp_counts on erp_counts.erp_key = erp.project_record_key
    inner join dim on dim.project_key = erp.project_record_key
    where dim.erp_match_rule = 'erp_only'
)

select * from exceptions
