{#- Dynamics 365 F&O helpers (owned by the dynamics staging layer). -#}

{#- F&O line numbers are reals (LineNum): render a whole number without decimals so keys read
    'gb01|CPJ-GB01-20260329|1', and keep the fraction of an inserted line (1.5). -#}
{% macro dynamics_line_number_text(column) -%}
    case
        when {{ column }} = floor({{ column }}) then cast(cast({{ column }} as bigint) as {{ dbt.type_string() }})
        else cast({{ column }} as {{ dbt.type_string() }})
    end
{%- endmacro %}

{#- '<part>|<part>|...' key from column expressions. -#}
{% macro dynamics_key(parts) -%}
    {%- set pieces = [] -%}
    {%- for part in parts -%}
        {%- do pieces.append(part) -%}
        {%- if not loop.last %}{% do pieces.append("'|'") %}{% endif -%}
    {%- endfor -%}
    {{ dbt.concat(pieces) }}
{%- endmacro %}
