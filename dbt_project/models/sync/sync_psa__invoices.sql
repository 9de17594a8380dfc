-- What every PSA invoice (the invoiced work) that an ERP invoice posts should carry as
-- Conform's external reference: the ERP invoice number, its canonical status (open, paid,
-- disputed, ...) and a one-line payment summary, so delivery teams see the ERP's receivable
-- without an ERP login.
with

erp_invoices as (
    select * from {{ ref('fct_invoice') }}
    where psa_invoice_id is not null
),

psa_invoices as (
    select source_relation, invoice_id
    from {{ ref('stg_psa__invoices') }}
),

ranked as (
    -- one ERP invoice per PSA invoice (a re-posted invoice: the latest)
    select
        erp_invoices.*,
        psa_invoices.source_relation as psa_connection,
        row_number() over (
            partition by psa_invoices.source_relation, erp_invoices.psa_invoice_id
            order by erp_invoices.invoice_date desc, erp_invoices.invoice_key desc
        ) as invoice_rank
    from erp_invoices
    inner join psa_invoices on psa_invoices.invoice_id = erp_invoices.psa_invoice_id
)

select
    cast('psa' as {{ dbt.type_string() }}) as target_system,
    cast(psa_connection as {{ dbt.type_string() }}) as target_connection,
    cast('invoices' as {{ dbt.type_string() }}) as target_object,
    cast(psa_invoice_id as {{ dbt.type_string() }}) as target_id,
    cast(invoice_key as {{ dbt.type_string() }}) as canonical_id,
    cast(invoice_key as {{ dbt.type_string() }}) as source_record_key,
    cast(
        {{ sync_correlation_id("'psa'", 'psa_connection', "'invoices'", 'psa_invoice_id', 'invoice_key') }}
        as {{ dbt.type_string() }}
    ) as correlation_id,
    cast(invoice_number as {{ dbt.type_string() }}) as erp_invoice_number,
    cast(source_system as {{ dbt.type_string() }}) as erp_system,
    cast(status as {{ dbt.type_string() }}) as invoice_status,
    cast(
        {{ dbt.concat([
            "status", "': open '", "cast(open_amount as " ~ dbt.type_string() ~ ")", "' '", "currency_code",
            "' of '", "cast(total_amount as " ~ dbt.type_string() ~ ")",
            "coalesce(" ~ dbt.concat(["'; last payment '", "cast(last_payment_date as " ~ dbt.type_string() ~ ")"]) ~ ", '')"]) }}
        as {{ dbt.type_string() }}
    ) as payment_summary
from ranked
where invoice_rank = 1
