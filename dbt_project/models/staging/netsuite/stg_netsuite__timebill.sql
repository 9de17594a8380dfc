with

source as (

    select * from {{ source('raw_netsuite', 'timebill') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["_source_connection", "'|'", "id"]) }} as time_bill_key,
        cast(id as {{ dbt.type_string() }}) as time_bill_id,
        -- null for intercompany time (booked by an employee of another NetSuite account)
        cast(employee as {{ dbt.type_string() }}) as employee_id,
        -- timebill.customer holds the job (project) id
        cast(customer as {{ dbt.type_string() }}) as job_id,
        cast(subsidiary as {{ dbt.type_string() }}) as subsidiary_id,
        cast(custcol_psa_time_entry_id as {{ dbt.type_string() }}) as psa_time_entry_id,
        'netsuite' as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,

        ----------  strings
        item,
        memo,

        ----------  numerics
        cast(hours as numeric(28, 9)) as hours,
        cast(rate as numeric(28, 9)) as rate,

        ----------  booleans
        coalesce(isbillable, false) as is_billable,
        coalesce(posted, false) as is_posted,
        coalesce(is_deleted, false) as is_deleted,

        ----------  dates / timestamps
        trandate as work_date,
        datecreated as created_at,
        lastmodifieddate as modified_at,
        deleted_at

    from source

)

select * from renamed
