with

source as (

    select * from {{ source('raw_psa', 'invoices') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["_source_connection", "'|'", "id"]) }} as invoice_key,
        cast(id as {{ dbt.type_string() }}) as invoice_id,
        -- the first of workspace_ids (dlt derives it; the full list stays a JSON column in raw)
        cast(workspace_id as {{ dbt.type_string() }}) as workspace_id,

        ----------  strings
        cast('psa' as {{ dbt.type_string() }}) as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,
        cast(status as {{ dbt.type_string() }}) as status,
        cast(user_invoice_number as {{ dbt.type_string() }}) as user_invoice_number,
        cast(currency as {{ dbt.type_string() }}) as currency_code,

        ----------  numerics
        cast(balance_in_cents as bigint) as balance_in_cents,
        cast(balance as numeric(18, 2)) as balance,

        ----------  booleans
        cast(draft as boolean) as is_draft,

        ----------  dates
        cast(invoice_date as date) as invoice_date,
        cast(due_date as date) as due_date,

        ----------  timestamps
        cast(created_at as timestamp with time zone) as created_at,
        cast(updated_at as timestamp with time zone) as updated_at

    from source

)

select * from renamed
