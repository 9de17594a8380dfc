-- One row per canonical project: each PSA workspace with its ERP project (matched by the ERP
-- project id the PSA holds, else by the PSA code the ERP holds, else by time the ERP posted from
-- the workspace or the same name, legal entity and start date: int_project_match_candidates), plus
-- ERP projects that have no PSA counterpart. The PSA owns delivery structure; the ERP owns
-- financial codes.
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

candidates as (
    select * from {{ ref('int_project_match_candidates') }}
),

single_psa as (
    -- workspaces matching one ERP project only
    select psa_key from candidates
    group by psa_key
    having count(*) = 1
),

single_erp as (
    -- ERP projects claimed by one workspace only
    select erp_key from candidates
    group by erp_key
    having count(*) = 1
),

unique_matches as (
    select candidates.*
    from candidates
    inner join single_psa on single_psa.psa_key = candidates.psa_key
    inner join single_erp on single_erp.erp_key = candidates.erp_key
),

pairs as (
    select psa.project_record_key as psa_key, unique_matches.erp_key, unique_matches.match_rule
    from psa
    left join unique_matches on unique_matches.psa_key = psa.project_record_key

    union all

    select
        cast(null as {{ dbt.type_string() }}) as psa_key,
        erp.project_record_key as erp_key,
        'erp_only' as match_rule
    from erp
    where erp.project_record_key not in (select erp_key from unique_matches)
)

select
    coalesce(psa.project_record_key, erp.project_record_key) as project_key,
    psa.source_record_id as psa_workspace_id,
    psa.project_code as psa_project_code,
    coalesce(psa.project_name, erp.project_name) as project_name,
    psa.customer_source_record_id as psa_customer_record_id,
    erp.source_system as erp_system,
    erp.source_relation as erp_connection,
    erp.source_record_id as erp_project_record_id,
    erp.project_code as erp_project_code,
    erp.customer_source_record_id as erp_customer_record_id,
    coalesce(erp.legal_entity_code, psa.legal_entity_code) as legal_entity_code,
    coalesce(psa.billing_method, erp.billing_method) as billing_method,
    erp.cost_center,
    coalesce(psa.practice, erp.practice) as practice,
    psa.status as psa_status,
    erp.status as erp_status,
    cast(coalesce(psa.start_date, erp.start_date) as date) as start_date,
    cast(coalesce(psa.end_date, erp.end_date) as date) as end_date,
    cast(erp.closed_at as timestamp with time zone) as erp_closed_at,
    coalesce(psa.currency_code, erp.currency_code) as currency_code,
    coalesce(psa.billing_method = 'non_billable' and erp.source_record_id is null, false) as is_internal,
    pairs.match_rule as erp_match_rule
from pairs
left join psa on psa.project_record_key = pairs.psa_key
left join erp on erp.project_record_key = pairs.erp_key
