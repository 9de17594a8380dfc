with

source as (

    select * from {{ source('raw_salesforce', 'account') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["_source_connection", "'|'", "id"]) }} as account_key,
        cast(id as {{ dbt.type_string() }}) as account_id,
        cast(parent_id as {{ dbt.type_string() }}) as parent_account_id,
        cast(owner_id as {{ dbt.type_string() }}) as owner_id,
        'salesforce' as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,

        ----------  strings
        name as account_name,
        type as account_type,
        industry,
        website,
        phone,
        billing_street,
        billing_city,
        billing_postal_code,
        billing_country,
        upper(billing_country_code) as billing_country_code,
        upper(currency_iso_code) as currency_code,
        tax_id__c as tax_id,
        conform_id__c as conform_id,
        erp_customer_number__c as erp_customer_number,
        ultimate_parent_conform_id__c as ultimate_parent_conform_id,

        ----------  numerics
        open_ar__c as open_ar_amount,
        overdue_ar__c as overdue_ar_amount,

        ----------  booleans
        coalesce(is_deleted, false) as is_deleted,

        ----------  dates / timestamps
        last_payment_date__c as last_payment_date,
        created_date as created_at,
        last_modified_date as modified_at,
        system_modstamp,
        _dlt_load_id as dlt_load_id

    from source

)

select * from renamed
