-- One row per canonical customer (the customer master). Each golden attribute survives from its
-- system of record (seed system_of_record: name, website and country from the CRM, tax id and
-- ERP customer number from the ERP), else from the next system that holds it; the lineage
-- columns say which system, record and rule produced each value. Parent and ultimate parent come
-- from the sources' hierarchies (Salesforce ParentId, NetSuite parent, Dynamics InvoiceAccount)
-- mapped through customer_xref; the CRM's hierarchy wins over the ERPs'.
{% set attributes = ['legal_name', 'website', 'billing_country', 'tax_id', 'erp_customer_number'] %}
with

xref as (
    select * from {{ ref('customer_xref') }}
),

records as (
    select * from {{ ref('int_customer_records') }}
),

system_of_record as (
    select attribute, system_of_record from {{ ref('system_of_record') }}
    where domain = 'customer'
),

customers as (
    {{ mastering_table('canonical_customers', [
        ('canonical_customer_id', dbt.type_string()),
        ('status', dbt.type_string()),
        ('retired_into', dbt.type_string()),
        ('created_at', dbt.type_string()),
        ('retired_at', dbt.type_string())]) }}
),

candidates as (
    {% for attribute in attributes %}
    select
        canonical_customer_id,
        '{{ attribute }}' as attribute,  -- noqa: RF04
        {% if attribute == 'legal_name' %}customer_name
        {% elif attribute == 'website' %}website_domain
        {% elif attribute == 'billing_country' %}country_code
        {% elif attribute == 'tax_id' %}case when tax_id_is_valid then tax_id_compact end
        {% else %}erp_customer_number{% endif %} as attribute_value,
        {% if attribute == 'tax_id' %}tax_id_scheme{% else %}cast(null as {{ dbt.type_string() }}){% endif %}
            as value_detail,
        source_system,
        customer_record_key,
        case when source_system in ('netsuite', 'dynamics') then 'erp' else source_system end as system_class,
        is_deleted,
        modified_at
    from xref
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

ranked as (
    select
        candidates.*,
        case
            when candidates.system_class = sor.system_of_record then 'system_of_record'
            else 'fallback'
        end as survivorship_rule,
        row_number() over (
            partition by candidates.canonical_customer_id, candidates.attribute
            order by
                case when candidates.system_class = sor.system_of_record then 0 else 1 end,
                case candidates.system_class
                    when 'salesforce' then 1 when 'erp' then 2 when 'psa' then 3 else 4
                end,
                case when candidates.is_deleted then 1 else 0 end,
                candidates.modified_at desc,
                candidates.customer_record_key asc
        ) as rank_in_customer
    from candidates
    left join system_of_record as sor on sor.attribute = candidates.attribute
    where candidates.attribute_value is not null and candidates.attribute_value <> ''
),

golden as (
    select
        canonical_customer_id,
        {% for attribute in attributes %}
        max(case when attribute = '{{ attribute }}' then attribute_value end) as {{ attribute }},
        max(case when attribute = '{{ attribute }}' then source_system end) as {{ attribute }}_source_system,
        max(case when attribute = '{{ attribute }}' then customer_record_key end) as {{ attribute }}_source_record_key,
        max(case when attribute = '{{ attribute }}' then survivorship_rule end) as {{ attribute }}_rule,
        {% endfor %}
        max(case when attribute = 'tax_id' then value_detail end) as tax_id_scheme
    from ranked
    where rank_in_customer = 1
    group by canonical_customer_id
),

record_counts as (
    select
        canonical_customer_id,
        count(*) as source_record_count,
        count(distinct source_system) as source_system_count,
        sum(case when source_system = 'salesforce' then 1 else 0 end) as crm_record_count,
        sum(case when source_system in ('netsuite', 'dynamics') then 1 else 0 end) as erp_record_count
    from xref
    group by canonical_customer_id
),

parent_links as (
    -- each record's parent in its own system, mapped to canonical customers
    select
        child.canonical_customer_id,
        parent.canonical_customer_id as parent_customer_id,
        child.source_system,
        row_number() over (
            partition by child.canonical_customer_id
            order by
                case child.source_system when 'salesforce' then 1 when 'netsuite' then 2 else 3 end,
                case when child.is_deleted then 1 else 0 end,
                child.modified_at desc,
                child.customer_record_key asc
        ) as rank_in_customer
    from xref as child
    inner join records
        on records.customer_record_key = child.customer_record_key
    inner join xref as parent
        on parent.source_system = records.source_system
            and parent.source_relation = records.source_relation
            and parent.source_record_id = records.parent_source_record_id
    where records.parent_source_record_id is not null
        and parent.canonical_customer_id <> child.canonical_customer_id
),

parents as (
    select canonical_customer_id, parent_customer_id, source_system as parent_source_system
    from parent_links
    where rank_in_customer = 1
)

select
    customers.canonical_customer_id,
    {% for attribute in attributes %}
    golden.{{ attribute }},
    golden.{{ attribute }}_source_system,
    golden.{{ attribute }}_source_record_key,
    golden.{{ attribute }}_rule,
    {% endfor %}
    golden.tax_id_scheme,
    golden.tax_id is not null as has_valid_tax_id,
    p1.parent_customer_id,
    p1.parent_source_system,
    -- the top of the chain (hierarchies are shallow; four levels are followed, cycles stop)
    coalesce(
        case
            when
                p4.parent_customer_id not in (
                    customers.canonical_customer_id, p1.parent_customer_id, p2.parent_customer_id
                )
                then p4.parent_customer_id
        end,
        case
            when
                p3.parent_customer_id not in (customers.canonical_customer_id, p1.parent_customer_id)
                then p3.parent_customer_id
        end,
        case when p2.parent_customer_id <> customers.canonical_customer_id then p2.parent_customer_id end,
        p1.parent_customer_id,
        customers.canonical_customer_id
    ) as ultimate_parent_customer_id,
    record_counts.source_record_count,
    record_counts.source_system_count,
    record_counts.crm_record_count,
    record_counts.erp_record_count,
    customers.created_at as canonical_id_assigned_at
from customers
inner join record_counts on record_counts.canonical_customer_id = customers.canonical_customer_id
left join golden on golden.canonical_customer_id = customers.canonical_customer_id
left join parents as p1 on p1.canonical_customer_id = customers.canonical_customer_id
left join parents as p2 on p2.canonical_customer_id = p1.parent_customer_id
left join parents as p3 on p3.canonical_customer_id = p2.parent_customer_id
left join parents as p4 on p4.canonical_customer_id = p3.parent_customer_id
where customers.status = 'active'
