with

source as (

    select * from {{ source('raw_psa', 'account_memberships') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["_source_connection", "'|'", "id"]) }} as account_membership_key,
        cast(id as {{ dbt.type_string() }}) as account_membership_id,
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(default_role_id as {{ dbt.type_string() }}) as default_role_id,
        cast(manager_id as {{ dbt.type_string() }}) as manager_id,

        ----------  strings
        cast('psa' as {{ dbt.type_string() }}) as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,
        cast(permission as {{ dbt.type_string() }}) as permission,

        ----------  numerics (rates per hour, in the user's legal entity currency)
        cast(bill_rate_in_cents as bigint) as bill_rate_in_cents,
        cast(bill_rate as numeric(18, 2)) as bill_rate,
        cast(cost_rate_in_cents as bigint) as cost_rate_in_cents,
        cast(cost_rate as numeric(18, 2)) as cost_rate,

        ----------  timestamps
        cast(created_at as timestamp with time zone) as created_at,
        cast(updated_at as timestamp with time zone) as updated_at

    from source

)

select * from renamed
