-- Dynamics daily exchange rates (ExchangeRates, rate type var dynamics_exchange_rate_type,
-- default 'Default'): rate = units of to_currency_code per 1 from_currency_code (F&O quotes
-- Rate per ConversionFactor units of FromCurrency). Each environment quotes its own pairs.

with

rates as (

    select * from {{ ref('stg_dynamics__exchange_rates') }}
    where rate_type_name = '{{ var("dynamics_exchange_rate_type", "Default") }}'

)

select
    cast('dynamics' as {{ dbt.type_string() }}) as source_system,
    cast(source_relation as {{ dbt.type_string() }}) as source_relation,
    cast(start_date as date) as rate_date,
    cast(from_currency_code as {{ dbt.type_string() }}) as from_currency_code,
    cast(to_currency_code as {{ dbt.type_string() }}) as to_currency_code,
    cast(rate / conversion_factor_units as double precision) as rate
from rates
where rate is not null
    and rate > 0
