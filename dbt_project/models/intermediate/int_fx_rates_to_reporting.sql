-- Reporting-currency value of one unit of each currency, per calendar day: the ERPs' daily
-- rates into the reporting currency (var reporting_currency), carried forward over
-- weekends and holidays (at most 10 days).
{% set reporting = var('reporting_currency') %}

with quoted as (
    -- quotes into the reporting currency, and quotes of it (inverted)
    {% for system in ['netsuite', 'dynamics'] %}
    select rate_date, from_currency_code as currency_code, rate
    from {{ ref('int_fx_rates__' ~ system) }}
    where to_currency_code = '{{ reporting }}'
    union all
    select rate_date, to_currency_code as currency_code, 1.0 / rate as rate
    from {{ ref('int_fx_rates__' ~ system) }}
    where from_currency_code = '{{ reporting }}' and rate > 0
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

daily as (
    -- several systems quote the same pair: one rate per currency and day
    select rate_date, currency_code, avg(rate) as rate
    from quoted
    group by rate_date, currency_code
),

spine as (
    select dates.date_day, currencies.currency_code
    from {{ ref('dim_date') }} as dates
    cross join (select distinct currency_code from daily) as currencies
),

latest as (
    select spine.date_day, spine.currency_code, max(daily.rate_date) as rate_date
    from spine
    inner join daily
        on daily.currency_code = spine.currency_code
        and daily.rate_date <= spine.date_day
        and daily.rate_date > {{ dbt.dateadd('day', -10, 'spine.date_day') }}
    group by spine.date_day, spine.currency_code
)

select
    latest.date_day as rate_date,
    latest.currency_code,
    cast(daily.rate as double precision) as rate_to_reporting
from latest
inner join daily
    on daily.currency_code = latest.currency_code
    and daily.rate_date = latest.rate_date

union all

select date_day as rate_date, '{{ reporting }}' as currency_code, cast(1 as double precision) as rate_to_reporting
from {{ ref('dim_date') }}
