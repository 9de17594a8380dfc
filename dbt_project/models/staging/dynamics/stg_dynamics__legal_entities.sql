with

source as (

    select * from {{ source('raw_dynamics', 'legal_entities') }}

),

renamed as (

    select

        ----------  ids
        {{ dynamics_key(['_source_connection', 'lower(legal_entity_id)']) }} as legal_entity_key,
        lower(legal_entity_id) as legal_entity_id,

        ----------  strings
        cast('dynamics' as {{ dbt.type_string() }}) as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,
        cast(name as {{ dbt.type_string() }}) as legal_entity_name,
        upper(address_country_region_id) as country_region_id,
        upper(accounting_currency) as accounting_currency_code,

        ----------  timestamps
        cast(modified_date_time as timestamp with time zone) as modified_at

    from source

)

select * from renamed
