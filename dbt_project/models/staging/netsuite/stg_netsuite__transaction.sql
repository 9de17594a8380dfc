with

source as (

    select * from {{ source('raw_netsuite', 'transaction') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["_source_connection", "'|'", "id"]) }} as transaction_key,
        cast(id as {{ dbt.type_string() }}) as transaction_id,
        cast(entity as {{ dbt.type_string() }}) as customer_id,
        cast(currency as {{ dbt.type_string() }}) as currency_id,
        cast(custbody_project as {{ dbt.type_string() }}) as job_id,
        'netsuite' as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,

        ----------  strings
        tranid as transaction_number,
        -- CustInvc invoice, CustCred credit memo, CustPymt customer payment
        type as transaction_type,
        -- CustInvc: A open, B paid in full; CustCred / CustPymt: B applied
        status as status_code,
        memo,
        cast(custbody_psa_invoice_id as {{ dbt.type_string() }}) as psa_invoice_id,
        cast(custbody_stripe_charge_id as {{ dbt.type_string() }}) as stripe_charge_id,

        ----------  numerics (transaction currency)
        cast(exchangerate as numeric(28, 9)) as exchange_rate,
        cast(foreigntotal as numeric(28, 9)) as total_amount,
        cast(taxtotal as numeric(28, 9)) as tax_amount,
        cast(foreignamountremaining as numeric(28, 9)) as amount_remaining,

        ----------  booleans
        coalesce(custbody_disputed, false) as is_disputed,
        coalesce(is_deleted, false) as is_deleted,

        ----------  dates / timestamps
        trandate as transaction_date,
        duedate as due_date,
        createddate as created_at,
        lastmodifieddate as modified_at,
        deleted_at

    from source

)

select * from renamed
