{#- NetSuite helpers (owned by the NetSuite staging layer). -#}

{#- The source relation when the raw table exists, else an empty typed row set with the given
    columns. dlt creates a table only once a row arrives: `deletedrecord` does not exist in a
    warehouse whose accounts never deleted anything, and staging must still build.
    columns: {name: sql type}. -#}
{% macro netsuite_source_or_empty(table_name, columns) -%}
    {%- set rel = source('raw_netsuite', table_name) -%}
    {%- set found = rel -%}
    {%- if execute -%}
        {%- set found = adapter.get_relation(database=rel.database, schema=rel.schema,
                                              identifier=rel.identifier) -%}
    {%- endif -%}
    {%- if found is not none -%}
        {{ rel }}
    {%- else -%}
        (
            select
            {%- for name, data_type in columns.items() %}
                cast(null as {{ data_type }}) as {{ name }}{% if not loop.last %},{% endif %}
            {%- endfor %}
            where 1 = 0
        )
    {%- endif -%}
{%- endmacro %}


{#- Generic test: the combination of columns is unique (no dbt_utils in this project). -#}
{% test netsuite_unique_combination(model, combination_of_columns) %}
select
    {{ combination_of_columns | join(', ') }},
    count(*) as n_rows
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{% endtest %}


{#- Generic test on int_invoices__netsuite: item lines + tax lines of every invoice
    (document_type 'invoice') sum to its header total, and subtotal/tax agree with the lines.
    A missing line set fails too. NetSuite credit memos carry no item lines in this firm's
    accounts, so they are not checked. -#}
{% test netsuite_lines_reconcile_to_header(model, lines_model, tolerance=0.01) %}
with lines as (
    select
        source_relation,
        invoice_id,
        sum(line_amount) as lines_amount,
        sum(tax_amount) as lines_tax
    from {{ lines_model }}
    group by source_relation, invoice_id
)

select
    headers.source_relation,
    headers.invoice_id,
    headers.subtotal_amount,
    headers.tax_amount,
    headers.total_amount,
    lines.lines_amount,
    lines.lines_tax
from {{ model }} as headers
left join lines
    on lines.source_relation = headers.source_relation
    and lines.invoice_id = headers.invoice_id
where headers.document_type = 'invoice'
    and (
        lines.invoice_id is null
        or abs(coalesce(lines.lines_amount, 0) + coalesce(lines.lines_tax, 0) - headers.total_amount) > {{ tolerance }}
        or abs(coalesce(lines.lines_amount, 0) - headers.subtotal_amount) > {{ tolerance }}
        or abs(coalesce(lines.lines_tax, 0) - headers.tax_amount) > {{ tolerance }}
    )
{% endtest %}

{#- The live transactions of one type: neither flagged deleted by ingestion nor listed in
    NetSuite's deletedrecord table (record_type as NetSuite names it there). -#}
{% macro netsuite_live_transactions(transactions, transaction_type, deleted_record_type) %}
    select {{ transactions }}.*
    from {{ transactions }}
    left join (
        select distinct source_relation, record_id
        from {{ ref('stg_netsuite__deletedrecord') }}
        where record_type = '{{ deleted_record_type }}'
    ) as deleted
        on {{ transactions }}.source_relation = deleted.source_relation
        and {{ transactions }}.transaction_id = deleted.record_id
    where {{ transactions }}.transaction_type = '{{ transaction_type }}'
        and not {{ transactions }}.is_deleted
        and deleted.record_id is null
{% endmacro %}
