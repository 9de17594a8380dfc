with

source as (

    select * from {{ source('raw_dynamics', 'customer_payment_journal_lines') }}

),

renamed as (

    select

        ----------  ids
        {{ dynamics_key(['_source_connection', 'lower(data_area_id)', 'journal_batch_number', dynamics_line_number_text('line_number')]) }} as payment_journal_line_key,
        lower(data_area_id) as data_area_id,
        cast(journal_batch_number as {{ dbt.type_string() }}) as journal_batch_number,
        cast(account_display_value as {{ dbt.type_string() }}) as customer_account,
        cast(marked_invoice as {{ dbt.type_string() }}) as marked_invoice_number,
        cast(payment_reference as {{ dbt.type_string() }}) as payment_reference,

        ----------  strings
        cast('dynamics' as {{ dbt.type_string() }}) as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,
        upper(currency_code) as currency_code,

        ----------  numerics
        cast(line_number as numeric(18, 4)) as line_number,
        cast(credit_amount as numeric(18, 2)) as credit_amount,

        ----------  booleans
        cast(is_posted as boolean) as is_posted,

        ----------  dates
        cast(transaction_date as date) as transaction_date,

        ----------  timestamps
        cast(modified_date_time as timestamp with time zone) as modified_at

    from source

)

select * from renamed
