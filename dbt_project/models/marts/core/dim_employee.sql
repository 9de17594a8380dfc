-- One row per employee, from the PSA (which owns delivery staffing and time), with the
-- employee's ERP record matched by employee number, else by e-mail.
with psa as (
    select * from {{ ref('int_employee_records') }}
    where source_system = 'psa'
),

erp as (
    select * from {{ ref('int_employee_records') }}
    where source_system in ('netsuite', 'dynamics')
),

matched as (
    select
        psa.source_record_id as employee_id,
        erp.source_system as erp_system,
        erp.source_relation as erp_connection,
        erp.source_record_id as erp_employee_id,
        erp.employee_number as erp_employee_number,
        case when erp.employee_number = psa.employee_number then 'employee_number' else 'email' end
            as erp_match_rule,
        row_number() over (
            partition by psa.source_record_id
            order by
                case when erp.employee_number = psa.employee_number then 0 else 1 end,
                erp.source_relation, erp.source_record_id
        ) as match_rank
    from psa
    inner join erp
        on erp.employee_number = psa.employee_number
            or (erp.email = psa.email and psa.email is not null)
)

select
    psa.source_record_id as employee_id,
    psa.source_relation as psa_connection,
    psa.employee_number,
    psa.full_name,
    psa.email,
    psa.legal_entity_code,
    psa.practice,
    psa.role,
    cast(psa.weekly_capacity_hours as double precision) as weekly_capacity_hours,
    cast(psa.bill_rate as double precision) as standard_bill_rate,
    cast(psa.cost_rate as double precision) as cost_rate,
    psa.rate_currency_code,
    cast(psa.is_active as boolean) as is_active,
    matched.erp_system,
    matched.erp_connection,
    matched.erp_employee_id,
    matched.erp_employee_number,
    matched.erp_match_rule
from psa
left join matched
    on matched.employee_id = psa.source_record_id
        and matched.match_rank = 1
