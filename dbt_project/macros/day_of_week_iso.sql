{#- ISO day of week (Monday 1 .. Sunday 7) on DuckDB and PostgreSQL. -#}
{% macro day_of_week_iso(expr) -%}
    {{ return(adapter.dispatch('day_of_week_iso', 'conform')(expr)) }}
{%- endmacro %}

{% macro default__day_of_week_iso(expr) -%}
    cast(extract(isodow from {{ expr }}) as integer)
{%- endmacro %}
