with

source as (

    select * from {{ source('raw_psa', 'time_entries') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["_source_connection", "'|'", "id"]) }} as time_entry_key,
        cast(id as {{ dbt.type_string() }}) as time_entry_id,
        cast(workspace_id as {{ dbt.type_string() }}) as workspace_id,
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(story_id as {{ dbt.type_string() }}) as story_id,
        cast(role_id as {{ dbt.type_string() }}) as role_id,
        cast(invoice_id as {{ dbt.type_string() }}) as invoice_id,

        ----------  strings
        cast('psa' as {{ dbt.type_string() }}) as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,
        cast(notes as {{ dbt.type_string() }}) as notes,
        cast(currency as {{ dbt.type_string() }}) as currency_code,

        ----------  numerics
        cast(time_in_minutes as bigint) as time_in_minutes,
        cast(hours as double precision) as hours,
        cast(rate_in_cents as bigint) as rate_in_cents,
        cast(rate as numeric(18, 2)) as bill_rate,
        cast(cost_rate_in_cents as bigint) as cost_rate_in_cents,
        cast(cost_rate as numeric(18, 2)) as cost_rate,

        ----------  booleans
        cast(billable as boolean) as is_billable,
        cast(approved as boolean) as is_approved,
        cast(is_invoiced as boolean) as is_invoiced,

        ----------  dates
        cast(date_performed as date) as date_performed,

        ----------  timestamps
        cast(created_at as timestamp with time zone) as created_at,
        cast(updated_at as timestamp with time zone) as updated_at

    from source

)

select * from renamed
