{#- Schemas are named for what they hold (staging, intermediate, marts, reference), not
    prefixed with the target schema: BI tools and grants address them by these names. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
