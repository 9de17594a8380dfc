with

source as (

    select * from {{ source('raw_netsuite', 'currencyrate') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["_source_connection", "'|'", "id"]) }} as currency_rate_key,
        cast(id as {{ dbt.type_string() }}) as currency_rate_id,
        cast(basecurrency as {{ dbt.type_string() }}) as base_currency_id,
        cast(transactioncurrency as {{ dbt.type_string() }}) as transaction_currency_id,
        'netsuite' as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,

        ----------  numerics
        -- base-currency units per one transaction-currency unit
        cast(exchangerate as numeric(28, 9)) as exchange_rate,

        ----------  dates / timestamps
        effectivedate as effective_date,
        lastmodifieddate as modified_at

    from source

)

select * from renamed
