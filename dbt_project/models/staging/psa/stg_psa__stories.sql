with

source as (

    select * from {{ source('raw_psa', 'stories') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["_source_connection", "'|'", "id"]) }} as story_key,
        cast(id as {{ dbt.type_string() }}) as story_id,
        cast(workspace_id as {{ dbt.type_string() }}) as workspace_id,
        cast(parent_id as {{ dbt.type_string() }}) as parent_story_id,

        ----------  strings
        cast('psa' as {{ dbt.type_string() }}) as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,
        cast(title as {{ dbt.type_string() }}) as story_title,
        cast(story_type as {{ dbt.type_string() }}) as story_type,
        cast(state as {{ dbt.type_string() }}) as state,

        ----------  numerics
        cast(budget_estimate_in_cents as bigint) as budget_estimate_in_cents,
        cast(budget_estimate as numeric(18, 2)) as budget_estimate,
        cast(time_estimate_hours as double precision) as time_estimate_hours,
        cast(percentage_complete as integer) as percentage_complete,

        ----------  booleans
        cast(billable as boolean) as is_billable,
        cast(fixed_fee as boolean) as is_fixed_fee,
        coalesce(cast(archived as boolean), false) as is_archived,
        deleted_at is not null as is_deleted,

        ----------  dates
        cast(start_date as date) as start_date,
        cast(due_date as date) as due_date,

        ----------  timestamps
        cast(deleted_at as timestamp with time zone) as deleted_at,
        cast(created_at as timestamp with time zone) as created_at,
        cast(updated_at as timestamp with time zone) as updated_at

    from source

)

select * from renamed
