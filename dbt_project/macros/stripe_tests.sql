{#- Generic test: rows where `expression` is not true (dbt_utils-free). -#}
{% test stripe_expression_is_true(model, expression) %}

select *
from {{ model }}
where not ({{ expression }})

{% endtest %}
