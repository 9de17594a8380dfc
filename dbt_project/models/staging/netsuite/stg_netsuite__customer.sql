with

source as (

    select * from {{ source('raw_netsuite', 'customer') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["_source_connection", "'|'", "id"]) }} as customer_key,
        cast(id as {{ dbt.type_string() }}) as customer_id,
        cast(parent as {{ dbt.type_string() }}) as parent_customer_id,
        cast(subsidiary as {{ dbt.type_string() }}) as subsidiary_id,
        cast(currency as {{ dbt.type_string() }}) as currency_id,
        'netsuite' as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,

        ----------  strings
        entityid as customer_number,
        companyname as company_name,
        email,
        phone,
        url as website,
        upper(billcountry) as bill_country,
        billcity as bill_city,
        terms as payment_terms,
        custentity_tax_id as tax_id,
        custentity_conform_id as conform_id,
        custentity_crm_account_id as crm_account_id,

        ----------  booleans
        coalesce(isperson, false) as is_person,
        coalesce(isinactive, false) as is_inactive,
        -- set by ingestion from deletedrecord; a key-only tombstone when never loaded before
        coalesce(is_deleted, false) as is_deleted,

        ----------  timestamps
        datecreated as created_at,
        lastmodifieddate as modified_at,
        deleted_at

    from source

)

select * from renamed
