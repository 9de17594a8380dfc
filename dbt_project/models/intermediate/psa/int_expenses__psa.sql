-- Common shape 4: PSA expenses, one row per expense.

with

expenses as (

    select * from {{ ref('stg_psa__expenses') }}

),

final as (

    select
        cast(expense_key as {{ dbt.type_string() }}) as expense_key,
        cast(expense_id as {{ dbt.type_string() }}) as expense_id,
        cast(source_relation as {{ dbt.type_string() }}) as source_relation,
        cast(workspace_id as {{ dbt.type_string() }}) as workspace_id,
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(expense_date as date) as expense_date,
        cast(category as {{ dbt.type_string() }}) as category,
        cast(amount as numeric(18, 2)) as amount,
        cast(currency_code as {{ dbt.type_string() }}) as currency_code,
        cast(coalesce(is_billable, false) as boolean) as is_billable,
        cast(coalesce(is_invoiced, false) as boolean) as is_invoiced

    from expenses

)

select * from final
