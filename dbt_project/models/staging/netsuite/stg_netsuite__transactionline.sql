with

source as (

    select * from {{ source('raw_netsuite', 'transactionline') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["_source_connection", "'|'", '"transaction"', "'|'", "id"]) }} as transaction_line_key,
        cast("transaction" as {{ dbt.type_string() }}) as transaction_id,
        cast(id as {{ dbt.type_string() }}) as transaction_line_id,
        cast(entity as {{ dbt.type_string() }}) as customer_id,
        cast(subsidiary as {{ dbt.type_string() }}) as subsidiary_id,
        cast(department as {{ dbt.type_string() }}) as department_id,
        'netsuite' as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,

        ----------  strings
        item,
        memo,

        ----------  numerics (transaction currency)
        cast(linesequencenumber as integer) as line_sequence_number,
        cast(quantity as numeric(28, 9)) as quantity,
        cast(rate as numeric(28, 9)) as rate,
        cast(foreignamount as numeric(28, 9)) as amount,

        ----------  booleans
        coalesce(mainline, false) as is_mainline,
        coalesce(taxline, false) as is_taxline,

        ----------  timestamps
        linelastmodifieddate as modified_at

    from source

)

select * from renamed
