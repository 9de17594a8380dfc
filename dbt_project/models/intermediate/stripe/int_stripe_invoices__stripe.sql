-- Common shape 6: one row per Stripe invoice, amounts in currency units, with the ERP invoice
-- number it collects (metadata.erp_invoice_number, may be null).
with

invoices as (

    select * from {{ ref('stg_stripe__invoices') }}

),

final as (

    select
        cast(invoice_id as {{ dbt.type_string() }}) as stripe_invoice_id,
        cast(source_system as {{ dbt.type_string() }}) as source_system,
        cast(source_relation as {{ dbt.type_string() }}) as source_relation,
        cast(nullif(trim(erp_invoice_number), '') as {{ dbt.type_string() }}) as erp_invoice_number,
        cast(erp_system as {{ dbt.type_string() }}) as erp_system,
        cast(invoice_number as {{ dbt.type_string() }}) as stripe_invoice_number,
        cast(customer_id as {{ dbt.type_string() }}) as customer,
        cast(customer_id as {{ dbt.type_string() }}) as customer_source_record_id,
        cast(status as {{ dbt.type_string() }}) as status,
        cast(collection_method as {{ dbt.type_string() }}) as collection_method,
        cast(subtotal_major as numeric(18, 2)) as subtotal_amount,
        cast(tax_major as numeric(18, 2)) as tax_amount,
        cast(total_major as numeric(18, 2)) as total_amount,
        cast(amount_due_major as numeric(18, 2)) as amount_due,
        cast(amount_paid_major as numeric(18, 2)) as amount_paid,
        cast(amount_remaining_major as numeric(18, 2)) as amount_remaining,
        cast(currency_code as {{ dbt.type_string() }}) as currency_code,
        cast(cast(created_at at time zone 'UTC' as date) as date) as invoice_date,
        cast(cast(due_at at time zone 'UTC' as date) as date) as due_date,
        cast(created_at as timestamp with time zone) as created_at,
        cast(paid_at as timestamp with time zone) as paid_at,
        cast(voided_at as timestamp with time zone) as voided_at

    from invoices

)

select * from final
