{#- Reverse-sync helpers (owned by models/sync/). -#}

{#- The correlation id of one target record: a stable hash of what is written where, so the
    sync model row, the ledger, the audit log, the dead letters and the HTTP request
    (X-Correlation-ID) of a write can be joined back to each other and to the source record. -#}
{% macro sync_correlation_id(target_system, target_connection, target_object, target_id, source_key) -%}
    {{ dbt.hash(dbt.concat([
        target_system, "'|'", target_connection, "'|'", target_object, "'|'", target_id,
        "'<'", "coalesce(" ~ source_key ~ ", '')"])) }}
{%- endmacro %}


{#- Per canonical customer: the one CRM account id the ERPs should hold: the account the golden
    legal name came from (the CRM is its system of record), else the oldest-id live account. -#}
{% macro sync_crm_account_ids() -%}
    select canonical_customer_id, crm_account_id
    from (
        select
            xref.canonical_customer_id,
            xref.source_record_id as crm_account_id,
            row_number() over (
                partition by xref.canonical_customer_id
                order by
                    case when customers.legal_name_source_record_key = xref.customer_record_key then 0 else 1 end,
                    xref.source_record_id
            ) as account_rank
        from {{ ref('customer_xref') }} as xref
        inner join {{ ref('dim_customer') }} as customers
            on customers.canonical_customer_id = xref.canonical_customer_id
        where xref.source_system = 'salesforce' and not xref.is_deleted
    ) as ranked
    where account_rank = 1
{%- endmacro %}


{#- Generic test: one row per target record (system, connection, object, id). -#}
{% test sync_one_row_per_target(model) %}
select target_system, target_connection, target_object, target_id, count(*) as n_rows
from {{ model }}
group by target_system, target_connection, target_object, target_id
having count(*) > 1
{% endtest %}


{#- Generic test: every target holds what the sync models expect (read back by ingestion). -#}
{% test sync_targets_match(model) %}
select * from {{ model }} where not matches
{% endtest %}
