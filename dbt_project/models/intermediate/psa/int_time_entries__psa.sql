-- Common shape 4: PSA time entries, one row per entry, valued at their own bill and cost rates
-- (amounts exact to the cent from minutes x rate in cents, rounded half up).

with

time_entries as (

    select * from {{ ref('stg_psa__time_entries') }}

),

final as (

    select
        cast(time_entry_key as {{ dbt.type_string() }}) as time_entry_key,
        cast(time_entry_id as {{ dbt.type_string() }}) as time_entry_id,
        cast(source_relation as {{ dbt.type_string() }}) as source_relation,
        cast(workspace_id as {{ dbt.type_string() }}) as workspace_id,
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(date_performed as date) as work_date,
        cast(hours as double precision) as hours,
        cast(coalesce(is_billable, false) as boolean) as is_billable,
        cast(coalesce(is_approved, false) as boolean) as is_approved,
        cast(coalesce(is_invoiced, false) as boolean) as is_invoiced,
        cast(invoice_id as {{ dbt.type_string() }}) as psa_invoice_id,
        cast(bill_rate as double precision) as bill_rate,
        cast(cost_rate as double precision) as cost_rate,
        cast(currency_code as {{ dbt.type_string() }}) as currency_code,
        {{ psa_minutes_amount('time_in_minutes', 'rate_in_cents') }} as bill_amount,
        {{ psa_minutes_amount('time_in_minutes', 'cost_rate_in_cents') }} as cost_amount,
        cast(created_at as timestamp with time zone) as created_at,
        cast(updated_at as timestamp with time zone) as modified_at

    from time_entries

)

select * from final
