with

source as (

    select * from {{ source('raw_netsuite', 'department') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["_source_connection", "'|'", "id"]) }} as department_key,
        cast(id as {{ dbt.type_string() }}) as department_id,
        cast(subsidiary as {{ dbt.type_string() }}) as subsidiary_id,
        'netsuite' as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,

        ----------  strings
        name as department_name,
        -- departments are cost centers named '<code> <practice>', e.g. 'CC-SG01-TEC Technology'
        {{ dbt.split_part("trim(name)", "' '", 1) }} as cost_center_code,
        case
            when position(' ' in trim(name)) > 0
                then trim(substr(trim(name), position(' ' in trim(name)) + 1))
        end as practice,

        ----------  booleans
        coalesce(isinactive, false) as is_inactive,

        ----------  timestamps
        lastmodifieddate as modified_at

    from source

)

select * from renamed
