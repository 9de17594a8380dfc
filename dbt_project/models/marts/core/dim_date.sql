-- One row per calendar day over the years the firm's data can touch.
with days as (
    {{ dbt.date_spine("day", "cast('2023-01-01' as date)", "cast('2028-01-01' as date)") }}
)

select
    cast(date_day as date) as date_day,
    cast({{ dbt.date_trunc('week', 'date_day') }} as date) as week_start,
    cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start,
    cast({{ dbt.date_trunc('quarter', 'date_day') }} as date) as quarter_start,
    cast({{ dbt.date_trunc('year', 'date_day') }} as date) as year_start,
    {{ day_of_week_iso('date_day') }} as iso_day_of_week,
    {{ day_of_week_iso('date_day') }} <= 5 as is_weekday
from days
