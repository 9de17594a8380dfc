{#- Exact money amount of minutes at an hourly rate held in integer cents, rounded half up to
    the cent: floor((minutes * rate_cents + 30) / 60) cents. The division result is never within
    an ulp of an integer unless it is one, so the floor is exact on every engine; the final
    decimal multiply keeps it exact (DuckDB turns decimal division into double). -#}
{% macro psa_minutes_amount(minutes, rate_in_cents) -%}
    cast(
        cast(floor((cast({{ minutes }} as bigint) * cast({{ rate_in_cents }} as bigint) + 30) / 60.0) as numeric(18, 0))
        * cast(0.01 as numeric(18, 2))
        as numeric(18, 2)
    )
{%- endmacro %}
