with

source as (

    select * from {{ source('raw_dynamics', 'sales_invoice_lines') }}

),

renamed as (

    select

        ----------  ids
        {{ dynamics_key(['_source_connection', 'lower(data_area_id)', 'invoice_number', dynamics_line_number_text('line_number')]) }} as sales_invoice_line_key,
        {{ dynamics_key(['_source_connection', 'lower(data_area_id)', 'invoice_number']) }} as sales_invoice_header_key,
        lower(data_area_id) as data_area_id,
        cast(invoice_number as {{ dbt.type_string() }}) as invoice_number,
        cast(project_id as {{ dbt.type_string() }}) as project_id,

        ----------  strings
        cast('dynamics' as {{ dbt.type_string() }}) as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,
        cast(item_number as {{ dbt.type_string() }}) as item_number,
        cast(line_description as {{ dbt.type_string() }}) as line_description,
        upper(currency_code) as currency_code,

        ----------  numerics
        cast(line_number as numeric(18, 4)) as line_number,
        cast(invoiced_quantity as double precision) as invoiced_quantity,
        cast(sales_price as numeric(18, 2)) as sales_price,
        cast(line_amount as numeric(18, 2)) as line_amount,
        cast(line_total_tax_amount as numeric(18, 2)) as line_total_tax_amount,

        ----------  timestamps
        cast(modified_date_time as timestamp with time zone) as modified_at

    from source

)

select * from renamed
