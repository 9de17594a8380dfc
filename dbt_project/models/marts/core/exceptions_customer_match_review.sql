-- The steward queue: each uncertain pair of client records (the review band of the customer
-- master), with its evidence and name score. A pair leaves the queue once a steward decision
-- on it is in the seed steward_decisions (and the next `conform master` run applies it).
with

review as (
    {{ mastering_table('customer_match_review', [
        ('record_key_a', dbt.type_string()),
        ('record_key_b', dbt.type_string()),
        ('canonical_customer_id_a', dbt.type_string()),
        ('canonical_customer_id_b', dbt.type_string()),
        ('reason', dbt.type_string()),
        ('name_score', 'double precision'),
        ('exact_name', dbt.type_boolean()),
        ('same_tax_id', dbt.type_boolean()),
        ('tax_id_conflict', dbt.type_boolean()),
        ('same_country', dbt.type_boolean()),
        ('country_conflict', dbt.type_boolean()),
        ('same_domain', dbt.type_boolean()),
        ('domain_conflict', dbt.type_boolean()),
        ('erp_link', dbt.type_boolean())]) }}
),

decisions as (
    select record_key_a, record_key_b from {{ ref('steward_decisions') }}
),

xref as (
    select * from {{ ref('customer_xref') }}
)

select
    {{ dbt.concat(["review.record_key_a", "' ~ '", "review.record_key_b"]) }} as review_pair_key,
    review.record_key_a,
    review.record_key_b,
    review.canonical_customer_id_a,
    review.canonical_customer_id_b,
    a.source_system as source_system_a,
    b.source_system as source_system_b,
    a.customer_name as customer_name_a,
    b.customer_name as customer_name_b,
    a.country_code as country_code_a,
    b.country_code as country_code_b,
    a.website_domain as website_domain_a,
    b.website_domain as website_domain_b,
    a.tax_id_compact as tax_id_a,
    b.tax_id_compact as tax_id_b,
    review.reason,
    cast(review.name_score as double precision) as name_score,
    review.exact_name,
    review.same_tax_id,
    review.tax_id_conflict,
    review.same_country,
    review.country_conflict,
    review.same_domain,
    review.domain_conflict,
    review.erp_link
from review
inner join xref as a on a.customer_record_key = review.record_key_a
inner join xref as b on b.customer_record_key = review.record_key_b
where not exists (
        select 1 as decided from decisions
        where (decisions.record_key_a = review.record_key_a and decisions.record_key_b = review.record_key_b)
            or (decisions.record_key_a = review.record_key_b and decisions.record_key_b = review.record_key_a)
    )
