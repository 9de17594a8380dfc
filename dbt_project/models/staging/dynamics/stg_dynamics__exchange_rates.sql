with

source as (

    select * from {{ source('raw_dynamics', 'exchange_rates') }}

),

renamed as (

    select

        ----------  ids
        {{ dynamics_key(['_source_connection', 'rate_type_name', 'upper(from_currency)', 'upper(to_currency)', dbt.cast('start_date', dbt.type_string())]) }} as exchange_rate_key,

        ----------  strings
        cast('dynamics' as {{ dbt.type_string() }}) as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,
        cast(rate_type_name as {{ dbt.type_string() }}) as rate_type_name,
        upper(from_currency) as from_currency_code,
        upper(to_currency) as to_currency_code,
        cast(conversion_factor as {{ dbt.type_string() }}) as conversion_factor,

        ----------  numerics
        cast(rate as double precision) as rate,
        -- units of FromCurrency the Rate is quoted for (F&O ExchangeRateConversionFactor enum)
        cast(
            case conversion_factor
                when 'Ten' then 10
                when 'Hundred' then 100
                when 'Thousand' then 1000
                when 'TenThousand' then 10000
                when 'HundredThousand' then 100000
                when 'Million' then 1000000
                else 1
            end as double precision
        ) as conversion_factor_units,

        ----------  dates
        cast(start_date as date) as start_date,

        ----------  timestamps
        cast(modified_date_time as timestamp with time zone) as modified_at

    from source

)

select * from renamed
