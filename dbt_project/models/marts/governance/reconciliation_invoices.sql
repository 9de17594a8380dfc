-- Grain: one ERP invoice or one PSA invoice carrying an ERP number the ERPs do not hold. The
-- ERP header total vs the sum of its lines (amount + tax) vs what the PSA shows as invoiced (its
-- invoice balance), in invoice currency, with the largest difference in reporting currency.
-- No exception kind explains an invoice difference: any difference is unexplained.
with invoices as (
    select * from {{ ref('fct_invoice') }}
),

lines as (
    select invoice_key, count(*) as line_count, sum(line_amount + tax_amount) as lines_total
    from {{ ref('fct_invoice_line') }}
    group by invoice_key
),

psa as (
    select erp_invoice_number, max(psa_invoice_id) as psa_invoice_id, sum(balance_amount) as psa_amount
    from {{ ref('int_psa_invoices__psa') }}
    where erp_invoice_number is not null
    group by erp_invoice_number
),

compared as (
    select
        coalesce(invoices.invoice_key, {{ dbt.concat(["'psa|'", 'psa.erp_invoice_number']) }}) as reconciliation_key,
        coalesce(invoices.invoice_number, psa.erp_invoice_number) as invoice_number,
        invoices.invoice_key,
        invoices.source_system,
        invoices.source_relation,
        invoices.legal_entity_code,
        invoices.currency_code,
        psa.psa_invoice_id,
        coalesce(invoices.total_amount, 0) as header_total,
        coalesce(lines.lines_total, 0) as lines_total,
        coalesce(lines.line_count, 0) as line_count,
        coalesce(psa.psa_amount, 0) as psa_amount,
        invoices.total_amount_reporting / nullif(invoices.total_amount, 0) as rate_reporting
    from invoices
    left join lines on lines.invoice_key = invoices.invoice_key
    full outer join psa on psa.erp_invoice_number = invoices.invoice_number
)

select
    reconciliation_key,
    invoice_number,
    invoice_key,
    source_system,
    source_relation,
    legal_entity_code,
    currency_code,
    psa_invoice_id,
    cast(header_total as numeric(18, 2)) as header_total_amount,
    cast(lines_total as numeric(18, 2)) as lines_total_amount,
    cast(line_count as bigint) as line_count,
    cast(psa_amount as numeric(18, 2)) as psa_invoiced_amount,
    cast(header_total - lines_total as numeric(18, 2)) as header_vs_lines_difference,
    cast(header_total - psa_amount as numeric(18, 2)) as header_vs_psa_difference,
    cast(
        case
            when abs(header_total - lines_total) >= abs(header_total - psa_amount)
                then abs(header_total - lines_total)
            else abs(header_total - psa_amount)
        end * rate_reporting as numeric(18, 2)
    ) as difference_amount_reporting,
    (
        abs(header_total - lines_total) > 0.005 or abs(header_total - psa_amount) > 0.005 or invoice_key is null
        or psa_invoice_id is null
    ) as has_difference,
    (
        abs(header_total - lines_total) > 0.005 or abs(header_total - psa_amount) > 0.005 or invoice_key is null
        or psa_invoice_id is null
    ) as has_unexplained_difference
from compared
