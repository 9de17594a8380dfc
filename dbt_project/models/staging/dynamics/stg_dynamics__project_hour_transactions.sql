with

source as (

    select * from {{ source('raw_dynamics', 'project_hour_transactions') }}

),

renamed as (

    select

        ----------  ids
        {{ dynamics_key(['_source_connection', 'lower(data_area_id)', 'transaction_id']) }} as project_hour_transaction_key,
        lower(data_area_id) as data_area_id,
        cast(transaction_id as {{ dbt.type_string() }}) as transaction_id,
        cast(project_id as {{ dbt.type_string() }}) as project_id,
        cast(worker as {{ dbt.type_string() }}) as worker_personnel_number,
        cast(psa_time_entry_id as {{ dbt.type_string() }}) as psa_time_entry_id,

        ----------  strings
        cast('dynamics' as {{ dbt.type_string() }}) as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,
        cast(line_property as {{ dbt.type_string() }}) as line_property,
        upper(currency_code) as currency_code,

        ----------  numerics
        cast(hours as double precision) as hours,
        cast(sales_price as double precision) as sales_price,
        cast(cost_price as double precision) as cost_price,

        ----------  booleans
        coalesce(line_property = 'Billable', false) as is_billable,

        ----------  dates
        cast(project_date as date) as project_date,

        ----------  timestamps
        cast(modified_date_time as timestamp with time zone) as modified_at

    from source

)

select * from renamed
