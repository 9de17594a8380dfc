with

source as (

    select * from {{ source('raw_salesforce', 'user') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["_source_connection", "'|'", "id"]) }} as user_key,
        cast(id as {{ dbt.type_string() }}) as user_id,
        'salesforce' as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,

        ----------  strings
        username,
        first_name,
        last_name,
        name as full_name,
        lower(trim(email)) as email,
        title,

        ----------  booleans
        is_active,

        ----------  dates / timestamps
        created_date as created_at,
        last_modified_date as modified_at,
        system_modstamp,
        _dlt_load_id as dlt_load_id

    from source

)

select * from renamed
