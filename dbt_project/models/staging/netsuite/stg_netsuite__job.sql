with

source as (

    select * from {{ source('raw_netsuite', 'job') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["_source_connection", "'|'", "id"]) }} as job_key,
        cast(id as {{ dbt.type_string() }}) as job_id,
        cast(parent as {{ dbt.type_string() }}) as customer_id,
        cast(subsidiary as {{ dbt.type_string() }}) as subsidiary_id,
        cast(currency as {{ dbt.type_string() }}) as currency_id,
        cast(department as {{ dbt.type_string() }}) as department_id,
        cast(entitystatus as {{ dbt.type_string() }}) as job_status_id,
        'netsuite' as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,

        ----------  strings
        entityid as project_number,
        companyname as project_name,
        custentity_billing_method as billing_method_raw,
        custentity_psa_project_code as psa_project_code,

        ----------  booleans
        coalesce(isinactive, false) as is_inactive,
        coalesce(is_deleted, false) as is_deleted,

        ----------  dates / timestamps
        startdate as start_date,
        projectedenddate as projected_end_date,
        enddate as end_date,
        datecreated as created_at,
        lastmodifieddate as modified_at,
        deleted_at

    from source

)

select * from renamed
