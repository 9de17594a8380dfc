-- One row per Salesforce Opportunity (soft-deleted ones included), for pipeline / bookings
-- reporting and the opportunity -> PSA project link (psa_project_code).
with

opportunities as (

    select * from {{ ref('stg_salesforce__opportunity') }}

),

final as (

    select
        cast(opportunity_id as {{ dbt.type_string() }}) as opportunity_id,
        cast(source_system as {{ dbt.type_string() }}) as source_system,
        cast(source_relation as {{ dbt.type_string() }}) as source_relation,
        cast(account_id as {{ dbt.type_string() }}) as account_source_record_id,
        cast(opportunity_name as {{ dbt.type_string() }}) as opportunity_name,
        cast(stage_name as {{ dbt.type_string() }}) as stage,
        cast(opportunity_type as {{ dbt.type_string() }}) as opportunity_type,
        cast(close_date as date) as close_date,
        cast(amount as numeric(18, 2)) as amount,
        cast(currency_code as {{ dbt.type_string() }}) as currency_code,
        cast(probability as double precision) as probability,
        cast(is_won as boolean) as is_won,
        cast(is_closed as boolean) as is_closed,
        cast(nullif(trim(psa_project_code), '') as {{ dbt.type_string() }}) as psa_project_code,
        cast(owner_id as {{ dbt.type_string() }}) as owner_user_id,
        cast(created_at as timestamp with time zone) as created_at,
        cast(system_modstamp as timestamp with time zone) as modified_at,
        cast(is_deleted as boolean) as is_deleted

    from opportunities

)

select * from final
