with

source as (

    select * from {{ source('raw_psa', 'workspaces') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["_source_connection", "'|'", "id"]) }} as workspace_key,
        cast(id as {{ dbt.type_string() }}) as workspace_id,
        cast(workspace_group_id as {{ dbt.type_string() }}) as workspace_group_id,
        cast(primary_workspace_group_id as {{ dbt.type_string() }}) as primary_workspace_group_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(creator_id as {{ dbt.type_string() }}) as creator_id,
        cast(primary_maven_id as {{ dbt.type_string() }}) as primary_maven_id,

        ----------  strings
        cast('psa' as {{ dbt.type_string() }}) as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,
        cast(title as {{ dbt.type_string() }}) as workspace_title,
        cast(description as {{ dbt.type_string() }}) as description,
        cast(stage as {{ dbt.type_string() }}) as stage,
        cast(status_message as {{ dbt.type_string() }}) as status_message,
        cast(status_color as {{ dbt.type_string() }}) as status_color,
        cast(currency as {{ dbt.type_string() }}) as currency_code,

        ----------  numerics
        cast(status_key as integer) as status_key,
        cast(price_in_cents as bigint) as price_in_cents,
        cast(price as numeric(18, 2)) as price,

        ----------  booleans
        cast(archived as boolean) as is_archived,
        cast(budgeted as boolean) as is_budgeted,

        ----------  dates
        cast(start_date as date) as start_date,
        cast(due_date as date) as due_date,
        cast(effective_due_date as date) as effective_due_date,

        ----------  timestamps
        cast(created_at as timestamp with time zone) as created_at,
        cast(updated_at as timestamp with time zone) as updated_at

    from source

)

select * from renamed
