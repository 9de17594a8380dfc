with

source as (

    select * from {{ source('raw_netsuite', 'jobstatus') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["_source_connection", "'|'", "id"]) }} as job_status_key,
        cast(id as {{ dbt.type_string() }}) as job_status_id,
        'netsuite' as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,

        ----------  strings
        name as job_status_name

    from source

)

select * from renamed
