with

source as (

    select * from {{ source('raw_netsuite', 'previoustransactionlink') }}

),

renamed as (

    select
        ----------  ids
        {{ dbt.concat(["_source_connection", "'|'", "previousdoc", "'|'", "nextdoc"]) }} as transaction_link_key,
        -- the earlier document (the invoice) and the one applied to it (payment / credit memo)
        cast(previousdoc as {{ dbt.type_string() }}) as previous_transaction_id,
        cast(nextdoc as {{ dbt.type_string() }}) as next_transaction_id,
        'netsuite' as source_system,
        cast(_source_connection as {{ dbt.type_string() }}) as source_relation,

        ----------  strings
        linktype as link_type,

        ----------  numerics (transaction currency)
        cast(foreignamount as numeric(28, 9)) as applied_amount,

        ----------  timestamps
        lastmodifieddate as modified_at

    from source

)

select * from renamed
