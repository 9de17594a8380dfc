{#- A table of the customer master's state (schema `mastering`, written by `conform master`).
    Before the first master run it does not exist: the model then reads an empty, typed row set,
    so a full `dbt build` stays green on a fresh warehouse. -#}
{% macro mastering_table(name, columns) -%}
    {%- set relation = adapter.get_relation(database=target.database, schema='mastering', identifier=name) if execute else none -%}
    {%- if relation is not none -%}
    select {% for col, _ in columns %}{{ col }}{% if not loop.last %}, {% endif %}{% endfor %} from {{ source('mastering', name) }}
    {%- else -%}
    -- {{ source('mastering', name) }} does not exist yet (run `conform master`)
    select
        {% for col, type in columns -%}
        cast(null as {{ type }}) as {{ col }}{% if not loop.last %},{% endif %}
        {% endfor -%}
    where 1 = 0
    {%- endif -%}
{%- endmacro %}
