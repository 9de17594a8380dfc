-- Grain: project x month. Revenue = ERP invoice subtotals dated in the month (reporting
-- currency); cost = hours x loaded cost rate + expenses; margin = revenue - cost;
-- effective bill rate = revenue / all hours; realization = billed value at the billed rates /
-- (billable hours x standard rate).
with time_by_month as (
    select
        project_key,
        month_start,
        sum(hours) as hours,
        sum(billable_hours) as billable_hours,
        sum(cost_amount_reporting) as labour_cost,
        sum(case when is_billable then bill_amount_reporting else 0 end) as billable_value,
        sum(case when is_billable then standard_amount_reporting else 0 end) as standard_value
    from {{ ref('fct_time_entry') }}
    group by project_key, month_start
),

expenses as (
    select
        project_key,
        month_start,
        sum(amount_reporting) as expense_cost
    from {{ ref('fct_expense') }}
    group by project_key, month_start
),

revenue as (
    select
        project_key,
        cast({{ dbt.date_trunc('month', 'invoice_date') }} as date) as month_start,
        sum(subtotal_amount * (total_amount_reporting / nullif(total_amount, 0))) as revenue
    from {{ ref('fct_invoice') }}
    where project_key is not null
    group by 1, 2
),

keys as (
    select project_key, month_start from time_by_month
    union
    select project_key, month_start from revenue
    union
    select project_key, month_start from expenses
)

select
    {{ dbt.concat([
        "keys.project_key", "'|'", "cast(keys.month_start as " ~ dbt.type_string() ~ ")",
    ]) }} as project_month_key,
    keys.project_key,
    keys.month_start,
    cast(coalesce(revenue.revenue, 0) as numeric(18, 2)) as revenue_reporting,
    cast(coalesce(t.labour_cost, 0) as numeric(18, 2)) as labour_cost_reporting,
    cast(coalesce(expenses.expense_cost, 0) as numeric(18, 2)) as expense_cost_reporting,
    cast(
        coalesce(revenue.revenue, 0) - coalesce(t.labour_cost, 0) - coalesce(expenses.expense_cost, 0)
        as numeric(18, 2)
    ) as margin_reporting,
    cast(case when revenue.revenue > 0 then
            (revenue.revenue - coalesce(t.labour_cost, 0) - coalesce(expenses.expense_cost, 0)) / revenue.revenue
    end as double precision) as margin_pct,
    cast(coalesce(t.hours, 0) as double precision) as hours,
    cast(coalesce(t.billable_hours, 0) as double precision) as billable_hours,
    cast(case when t.hours > 0 then coalesce(revenue.revenue, 0) / t.hours end as double precision)
        as effective_bill_rate_reporting,
    cast(case when t.standard_value > 0 then t.billable_value / t.standard_value end as double precision)
        as realization
from keys
left join time_by_month as t on t.project_key = keys.project_key and t.month_start = keys.month_start
left join revenue on revenue.project_key = keys.project_key and revenue.month_start = keys.month_start
left join expenses on expenses.project_key = keys.project_key and expenses.month_start = keys.month_start
