with

source as (

    select * from {{ source('raw_stripe', 'events') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["_source_connection", "'|'", "id"]) }} as event_key,
        cast(id as {{ dbt.type_string() }}) as event_id,
        cast(object_id as {{ dbt.type_string() }}) as object_id,
        cast(request_id as {{ dbt.type_string() }}) as request_id,
        'stripe' as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,

        ----------  strings
        type as event_type,
        object_type,
        api_version,
        idempotency_key,

        ----------  numerics
        pending_webhooks,

        ----------  booleans
        livemode,

        ----------  timestamps
        created as created_at,

        ----------  snapshots (JSON as loaded; not parsed here: JSON differs by engine)
        data_object,
        previous_attributes,
        _dlt_load_id as dlt_load_id

    from source

)

select * from renamed
