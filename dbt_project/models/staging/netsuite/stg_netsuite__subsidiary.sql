with

source as (

    select * from {{ source('raw_netsuite', 'subsidiary') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["_source_connection", "'|'", "id"]) }} as subsidiary_key,
        cast(id as {{ dbt.type_string() }}) as subsidiary_id,
        cast(currency as {{ dbt.type_string() }}) as base_currency_id,
        'netsuite' as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,

        ----------  strings
        name as subsidiary_name,
        upper(country) as country_code,

        ----------  booleans
        coalesce(isinactive, false) as is_inactive,

        ----------  timestamps
        lastmodifieddate as modified_at

    from source

)

select * from renamed
