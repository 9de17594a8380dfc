with

source as (

    select * from {{ source('raw_psa', 'workspace_groups') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["_source_connection", "'|'", "id"]) }} as workspace_group_key,
        cast(id as {{ dbt.type_string() }}) as workspace_group_id,

        ----------  strings
        cast('psa' as {{ dbt.type_string() }}) as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,
        cast(name as {{ dbt.type_string() }}) as workspace_group_name,
        cast(contact_name as {{ dbt.type_string() }}) as contact_name,
        cast(email as {{ dbt.type_string() }}) as email,
        cast(phone_number as {{ dbt.type_string() }}) as phone_number,
        cast(address as {{ dbt.type_string() }}) as address,
        cast(website as {{ dbt.type_string() }}) as website,
        cast(notes as {{ dbt.type_string() }}) as notes,

        ----------  booleans
        cast(company as boolean) as is_company,

        ----------  timestamps
        cast(created_at as timestamp with time zone) as created_at,
        cast(updated_at as timestamp with time zone) as updated_at

    from source

)

select * from renamed
