with

source as (

    select * from {{ source('raw_netsuite', 'employee') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["_source_connection", "'|'", "id"]) }} as employee_key,
        cast(id as {{ dbt.type_string() }}) as employee_id,
        cast(subsidiary as {{ dbt.type_string() }}) as subsidiary_id,
        cast(department as {{ dbt.type_string() }}) as department_id,
        'netsuite' as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,

        ----------  strings
        entityid as employee_number,
        firstname as first_name,
        lastname as last_name,
        lower(trim(email)) as email,
        title,

        ----------  booleans
        coalesce(isinactive, false) as is_inactive,
        coalesce(is_deleted, false) as is_deleted,

        ----------  timestamps
        lastmodifieddate as modified_at,
        deleted_at

    from source

)

select * from renamed
