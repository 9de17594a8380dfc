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


{#- What every live customer of one ERP should hold in Conform's custom fields: its canonical
    customer ID and the customer's CRM account id (the Salesforce Account the CRM masters it
    under). NetSuite and Dynamics take the same fields; their writers name them. -#}
{% macro sync_erp_customers(erp_system) -%}
with

erp_customers as (
    select * from {{ ref('customer_xref') }}
    where source_system = '{{ erp_system }}' and not is_deleted
),

crm_accounts as (
    {{ sync_crm_account_ids() }}
)

select
    cast(erp_customers.source_system as {{ dbt.type_string() }}) as target_system,
    cast(erp_customers.source_relation as {{ dbt.type_string() }}) as target_connection,
    cast(erp_customers.source_object as {{ dbt.type_string() }}) as target_object,
    cast(erp_customers.source_record_id as {{ dbt.type_string() }}) as target_id,
    cast(erp_customers.canonical_customer_id as {{ dbt.type_string() }}) as canonical_id,
    cast(erp_customers.customer_record_key as {{ dbt.type_string() }}) as source_record_key,
    cast(
        {{ sync_correlation_id('erp_customers.source_system', 'erp_customers.source_relation',
                               'erp_customers.source_object', 'erp_customers.source_record_id',
                               'erp_customers.customer_record_key') }}
        as {{ dbt.type_string() }}
    ) as correlation_id,
    cast(erp_customers.canonical_customer_id as {{ dbt.type_string() }}) as conform_id,
    cast(crm_accounts.crm_account_id as {{ dbt.type_string() }}) as crm_account_id
from erp_customers
left join crm_accounts on crm_accounts.canonical_customer_id = erp_customers.canonical_customer_id
{%- endmacro %}


{#- What every project of one ERP matched to a PSA workspace should hold in its custom field: the
    PSA project code (the PSA owns the delivery structure and its codes). -#}
{% macro sync_erp_projects(erp_system, target_object) -%}
with

projects as (
    select * from {{ ref('dim_project') }}
    where erp_system = '{{ erp_system }}' and psa_project_code is not null
)

select
    cast(erp_system as {{ dbt.type_string() }}) as target_system,
    cast(erp_connection as {{ dbt.type_string() }}) as target_connection,
    cast('{{ target_object }}' as {{ dbt.type_string() }}) as target_object,
    cast(erp_project_record_id as {{ dbt.type_string() }}) as target_id,
    cast(project_key as {{ dbt.type_string() }}) as canonical_id,
    cast(project_key as {{ dbt.type_string() }}) as source_record_key,
    cast(
        {{ sync_correlation_id('erp_system', 'erp_connection', "'" ~ target_object ~ "'",
                               'erp_project_record_id', 'project_key') }}
        as {{ dbt.type_string() }}
    ) as correlation_id,
    cast(psa_project_code as {{ dbt.type_string() }}) as psa_project_code
from projects
{%- endmacro %}
