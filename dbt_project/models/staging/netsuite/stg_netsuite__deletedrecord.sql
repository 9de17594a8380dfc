{#- dlt creates raw_netsuite.deletedrecord only once a deletion arrives: until then this
    model is an empty, typed row set. -#}
with

source as (

    select * from {{ netsuite_source_or_empty('deletedrecord', {
        'recordtype': dbt.type_string(),
        'recordid': dbt.type_string(),
        'deleteddate': 'timestamp with time zone',
        '_source_connection': dbt.type_string(),
    }) }} as deletedrecord

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["_source_connection", "'|'", "lower(recordtype)", "'|'", "recordid"]) }} as deleted_record_key,
        cast(recordid as {{ dbt.type_string() }}) as record_id,
        'netsuite' as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,

        ----------  strings
        -- customer, job, employee, timebill, invoice, creditmemo, customerpayment, ...
        lower(recordtype) as record_type,

        ----------  timestamps
        deleteddate as deleted_at

    from source

)

select * from renamed
