-- Open exceptions by kind, owner, severity and age (days since first seen, at this build:
-- 0-7d, 8-30d, 31-90d, 90d+), with their count and the money at risk (reporting currency).
{% set run_at = governance_run_at() %}

with open_exceptions as (
    select
        exception_kind,
        owner_system,
        severity,
        amount_at_risk,
        {{ dbt.datediff('first_seen_at', run_at, 'day') }} as age_days
    from {{ ref('exceptions_register') }}
    where status = 'open'
)

select
    exception_kind,
    owner_system,
    severity,
    cast(
        case
            when age_days <= 7 then '0-7d'
            when age_days <= 30 then '8-30d'
            when age_days <= 90 then '31-90d'
            else '90d+'
        end as {{ dbt.type_string() }}
    ) as age_bucket,
    cast(count(*) as bigint) as open_count,
    cast(coalesce(sum(amount_at_risk), 0) as numeric(18, 2)) as amount_at_risk
from open_exceptions
group by
    exception_kind,
    owner_system,
    severity,
    case
        when age_days <= 7 then '0-7d'
        when age_days <= 30 then '8-30d'
        when age_days <= 90 then '31-90d'
        else '90d+'
    end
