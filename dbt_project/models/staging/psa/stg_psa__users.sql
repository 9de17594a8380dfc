with

source as (

    select * from {{ source('raw_psa', 'users') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["_source_connection", "'|'", "id"]) }} as user_key,
        cast(id as {{ dbt.type_string() }}) as user_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(account_membership_id as {{ dbt.type_string() }}) as account_membership_id,
        cast(role_id as {{ dbt.type_string() }}) as role_id,

        ----------  strings
        cast('psa' as {{ dbt.type_string() }}) as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,
        cast(full_name as {{ dbt.type_string() }}) as full_name,
        cast(email_address as {{ dbt.type_string() }}) as email_address,
        cast(headline as {{ dbt.type_string() }}) as headline,

        ----------  booleans
        cast(disabled as boolean) as is_disabled,

        ----------  timestamps
        cast(created_at as timestamp with time zone) as created_at,
        cast(updated_at as timestamp with time zone) as updated_at

    from source

)

select * from renamed
