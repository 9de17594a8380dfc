with

source as (

    select * from {{ source('raw_netsuite', 'currency') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["_source_connection", "'|'", "id"]) }} as currency_key,
        cast(id as {{ dbt.type_string() }}) as currency_id,
        'netsuite' as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,

        ----------  strings
        upper(trim(symbol)) as currency_code,
        name as currency_name,

        ----------  booleans
        coalesce(isbasecurrency, false) as is_base_currency,

        ----------  timestamps
        lastmodifieddate as modified_at

    from source

)

select * from renamed
