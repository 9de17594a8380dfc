-- Every source client record -> its canonical customer, with the rule and confidence that put it
-- there, and the record's normalised and validated attributes. The assignment is the customer
-- master's persisted state (schema mastering, written by `conform master`).
with

records as (
    select * from {{ ref('int_customer_records') }}
),

id_map as (
    {{ mastering_table('customer_id_map', [
        ('customer_record_key', dbt.type_string()),
        ('canonical_customer_id', dbt.type_string()),
        ('match_rule', dbt.type_string()),
        ('match_confidence', 'double precision'),
        ('assigned_at', dbt.type_string())]) }}
),

normalized as (
    {{ mastering_table('customer_records_normalized', [
        ('customer_record_key', dbt.type_string()),
        ('name_normalized', dbt.type_string()),
        ('country_code', dbt.type_string()),
        ('website_domain', dbt.type_string()),
        ('email_domain', dbt.type_string()),
        ('tax_id_raw', dbt.type_string()),
        ('tax_id_country', dbt.type_string()),
        ('tax_id_scheme', dbt.type_string()),
        ('tax_id_compact', dbt.type_string()),
        ('tax_id_is_valid', dbt.type_boolean())]) }}
)

select
    records.customer_record_key,
    id_map.canonical_customer_id,
    id_map.match_rule,
    cast(id_map.match_confidence as double precision) as match_confidence,
    id_map.assigned_at,
    records.source_system,
    records.source_relation,
    records.source_object,
    records.source_record_id,
    records.customer_name,
    normalized.name_normalized,
    normalized.country_code,
    normalized.website_domain,
    normalized.email_domain,
    normalized.tax_id_scheme,
    normalized.tax_id_compact,
    normalized.tax_id_is_valid,
    records.erp_customer_number,
    records.legal_entity_code,
    records.is_deleted,
    records.modified_at
from records
inner join id_map on id_map.customer_record_key = records.customer_record_key
left join normalized on normalized.customer_record_key = records.customer_record_key
