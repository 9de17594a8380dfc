with

source as (

    select * from {{ source('raw_psa', 'expenses') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["_source_connection", "'|'", "id"]) }} as expense_key,
        cast(id as {{ dbt.type_string() }}) as expense_id,
        cast(workspace_id as {{ dbt.type_string() }}) as workspace_id,
        cast(user_id as {{ dbt.type_string() }}) as user_id,

        ----------  strings
        cast('psa' as {{ dbt.type_string() }}) as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,
        cast(category as {{ dbt.type_string() }}) as category,
        cast(notes as {{ dbt.type_string() }}) as notes,
        cast(currency as {{ dbt.type_string() }}) as currency_code,

        ----------  numerics
        cast(amount_in_cents as bigint) as amount_in_cents,
        cast(amount as numeric(18, 2)) as amount,

        ----------  booleans
        cast(is_billable as boolean) as is_billable,
        cast(is_invoiced as boolean) as is_invoiced,
        cast(reimbursable as boolean) as is_reimbursable,

        ----------  dates
        cast(date as date) as expense_date,

        ----------  timestamps
        cast(created_at as timestamp with time zone) as created_at,
        cast(updated_at as timestamp with time zone) as updated_at

    from source

)

select * from renamed
