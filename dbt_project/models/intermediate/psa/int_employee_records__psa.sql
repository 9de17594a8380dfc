-- Common shape 3: PSA users as employee records: the account membership (rates, default
-- role), the role name and the User custom fields. Kantata rates carry no currency: they are
-- in the currency of the user's legal entity (firm configuration, seed legal_entities).

with

users as (

    select * from {{ ref('stg_psa__users') }}

),

memberships as (

    select
        *,
        row_number() over (
            partition by source_relation, user_id
            order by updated_at desc, account_membership_id desc
        ) as membership_rank
    from {{ ref('stg_psa__account_memberships') }}

),

roles as (

    select * from {{ ref('stg_psa__roles') }}

),

user_custom_fields as (

    select * from {{ ref('int_user_custom_fields__psa') }}

),

legal_entities as (

    select * from {{ ref('legal_entities') }}

),

final as (

    select
        cast(u.source_system as {{ dbt.type_string() }}) as source_system,
        cast(u.source_relation as {{ dbt.type_string() }}) as source_relation,
        cast(u.user_id as {{ dbt.type_string() }}) as source_record_id,
        cast(cf.employee_number as {{ dbt.type_string() }}) as employee_number,
        cast(u.full_name as {{ dbt.type_string() }}) as full_name,
        cast(lower(nullif(trim(u.email_address), '')) as {{ dbt.type_string() }}) as email,
        cast(lower(cf.legal_entity_raw) as {{ dbt.type_string() }}) as legal_entity_code,
        cast(null as {{ dbt.type_string() }}) as erp_subsidiary_id,
        cast(cf.practice as {{ dbt.type_string() }}) as practice,
        cast(coalesce(r.role_name, u.headline) as {{ dbt.type_string() }}) as role,
        cast(cf.weekly_capacity_hours as double precision) as weekly_capacity_hours,
        cast(m.bill_rate as double precision) as bill_rate,
        cast(m.cost_rate as double precision) as cost_rate,
        cast(le.functional_currency_code as {{ dbt.type_string() }}) as rate_currency_code,
        cast(not coalesce(u.is_disabled, false) as boolean) as is_active,
        cast(null as date) as hired_at

    from users as u
    left join memberships as m
        on u.source_relation = m.source_relation
        and u.user_id = m.user_id
        and m.membership_rank = 1
    left join roles as r
        on u.source_relation = r.source_relation
        and coalesce(m.default_role_id, u.role_id) = r.role_id
    left join user_custom_fields as cf
        on u.source_relation = cf.source_relation
        and u.user_id = cf.user_id
    left join legal_entities as le
        on lower(cf.legal_entity_raw) = le.legal_entity_code

)

select * from final
