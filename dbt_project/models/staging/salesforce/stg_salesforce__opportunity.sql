with

source as (

    select * from {{ source('raw_salesforce', 'opportunity') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["_source_connection", "'|'", "id"]) }} as opportunity_key,
        cast(id as {{ dbt.type_string() }}) as opportunity_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(owner_id as {{ dbt.type_string() }}) as owner_id,
        'salesforce' as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,

        ----------  strings
        name as opportunity_name,
        stage_name,
        type as opportunity_type,
        upper(currency_iso_code) as currency_code,
        psa_project_code__c as psa_project_code,

        ----------  numerics
        amount,
        probability,

        ----------  booleans
        is_closed,
        is_won,
        coalesce(is_deleted, false) as is_deleted,

        ----------  dates / timestamps
        close_date,
        created_date as created_at,
        last_modified_date as modified_at,
        system_modstamp,
        _dlt_load_id as dlt_load_id

    from source

)

select * from renamed
