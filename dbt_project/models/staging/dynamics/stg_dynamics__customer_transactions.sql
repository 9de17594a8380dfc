with

source as (

    select * from {{ source('raw_dynamics', 'customer_transactions') }}

),

renamed as (

    select

        ----------  ids
        {{ dynamics_key(['_source_connection', 'lower(data_area_id)', 'voucher']) }} as customer_transaction_key,
        lower(data_area_id) as data_area_id,
        cast(voucher as {{ dbt.type_string() }}) as voucher,
        cast(customer_account as {{ dbt.type_string() }}) as customer_account,
        cast(invoice_number as {{ dbt.type_string() }}) as invoice_number,

        ----------  strings
        cast('dynamics' as {{ dbt.type_string() }}) as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,
        cast(transaction_type as {{ dbt.type_string() }}) as transaction_type,
        upper(currency_code) as currency_code,

        ----------  numerics (signed as in the ledger: invoices positive, payments and credit notes negative)
        cast(amount_cur as numeric(18, 2)) as amount_cur,
        cast(settled_amount_cur as numeric(18, 2)) as settled_amount_cur,

        ----------  dates
        cast(transaction_date as date) as transaction_date,
        cast(due_date as date) as due_date,
        cast(closed_date as date) as closed_date,

        ----------  timestamps
        cast(modified_date_time as timestamp with time zone) as modified_at

    from source

)

select * from renamed
