{#- A column dlt adds only once some record carries it (Stripe `metadata__<key>`): select it
    when the raw table has it, else a typed null, so a Stripe account whose objects never set
    that metadata key still builds. -#}
{% macro stripe_optional_column(relation, column_name, data_type) -%}
    {%- set ns = namespace(found=false) -%}
    {%- if execute -%}
        {%- for col in adapter.get_columns_in_relation(relation) -%}
            {%- if col.name | lower == column_name | lower -%}{%- set ns.found = true -%}{%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if ns.found -%}
        cast({{ column_name }} as {{ data_type }})
    {%- else -%}
        cast(null as {{ data_type }})
    {%- endif -%}
{%- endmacro %}
