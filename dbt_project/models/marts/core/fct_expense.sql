-- Grain: one PSA expense (the PSA owns delivery costs). Amount in the transaction currency
-- and in the reporting currency (daily ERP rate of the expense date), billable and invoiced
-- state, on the canonical project and the employee who incurred it.
with expenses as (
    select * from {{ ref('int_expenses__psa') }}
),

fx as (
    select * from {{ ref('int_fx_rates_to_reporting') }}
)

select
    expenses.expense_key,
    expenses.expense_id,
    expenses.source_relation,
    {{ dbt.concat(["'psa|'", "expenses.source_relation", "'|'", "expenses.workspace_id"]) }} as project_key,
    expenses.user_id as employee_id,
    cast(expenses.expense_date as date) as expense_date,
    cast({{ dbt.date_trunc('month', 'expenses.expense_date') }} as date) as month_start,
    expenses.category,
    expenses.currency_code,
    cast(expenses.amount as numeric(18, 2)) as amount,
    cast(expenses.amount * fx.rate_to_reporting as numeric(18, 2)) as amount_reporting,
    fx.rate_to_reporting is not null as has_reporting_rate,
    cast(expenses.is_billable as boolean) as is_billable,
    cast(expenses.is_invoiced as boolean) as is_invoiced,
    case
        when not expenses.is_billable then 'non_billable'
        when expenses.is_invoiced then 'invoiced'
        else 'unbilled'
    end as billing_status
from expenses
left join fx
    on fx.currency_code = expenses.currency_code
        and fx.rate_date = expenses.expense_date
