-- Common shape 4: PSA invoices, one row per invoice. erp_invoice_number is Kantata's
-- user_invoice_number, filled once the invoice is posted to the ERP.

with

invoices as (

    select * from {{ ref('stg_psa__invoices') }}

),

final as (

    select
        cast(invoice_key as {{ dbt.type_string() }}) as psa_invoice_key,
        cast(invoice_id as {{ dbt.type_string() }}) as psa_invoice_id,
        cast(source_relation as {{ dbt.type_string() }}) as source_relation,
        cast(workspace_id as {{ dbt.type_string() }}) as workspace_id,
        cast(invoice_date as date) as invoice_date,
        cast(due_date as date) as due_date,
        cast(status as {{ dbt.type_string() }}) as status,
        cast(coalesce(is_draft, false) as boolean) as is_draft,
        cast(nullif(trim(user_invoice_number), '') as {{ dbt.type_string() }}) as erp_invoice_number,
        cast(balance as numeric(18, 2)) as balance_amount,
        cast(currency_code as {{ dbt.type_string() }}) as currency_code

    from invoices

)

select * from final
