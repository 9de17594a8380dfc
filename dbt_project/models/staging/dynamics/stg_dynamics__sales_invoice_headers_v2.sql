with

source as (

    select * from {{ source('raw_dynamics', 'sales_invoice_headers_v2') }}

),

renamed as (

    select

        ----------  ids
        {{ dynamics_key(['_source_connection', 'lower(data_area_id)', 'invoice_number']) }} as sales_invoice_header_key,
        lower(data_area_id) as data_area_id,
        cast(invoice_number as {{ dbt.type_string() }}) as invoice_number,
        cast(invoice_customer_account_number as {{ dbt.type_string() }}) as invoice_customer_account_number,
        cast(project_id as {{ dbt.type_string() }}) as project_id,
        cast(psa_invoice_id as {{ dbt.type_string() }}) as psa_invoice_id,

        ----------  strings
        cast('dynamics' as {{ dbt.type_string() }}) as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,
        upper(currency_code) as currency_code,
        cast(payment_terms_name as {{ dbt.type_string() }}) as payment_terms_name,
        cast(dispute_status as {{ dbt.type_string() }}) as dispute_status,

        ----------  numerics (credit notes carry negative totals, as in F&O)
        cast(total_invoice_amount as numeric(18, 2)) as total_invoice_amount,
        cast(total_tax_amount as numeric(18, 2)) as total_tax_amount,
        cast(total_discount_amount as numeric(18, 2)) as total_discount_amount,
        cast(total_charge_amount as numeric(18, 2)) as total_charge_amount,

        ----------  booleans
        coalesce(total_invoice_amount < 0, false) as is_credit_note,
        coalesce(dispute_status = 'Disputed', false) as is_disputed,

        ----------  dates
        cast(invoice_date as date) as invoice_date,
        cast(due_date as date) as due_date,

        ----------  timestamps
        cast(modified_date_time as timestamp with time zone) as modified_at

    from source

)

select * from renamed
