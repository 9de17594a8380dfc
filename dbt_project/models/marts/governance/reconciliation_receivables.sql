-- Grain: one ERP invoice. Receivable computed from the documents (total - credit notes applied
-- - payments the ERP recorded) vs the ERP's own open balance on the invoice; summed by ERP and
-- legal entity this is each ERP's AR against its own. No exception kind explains a difference.
select
    invoice_key,
    invoice_number,
    source_system,
    source_relation,
    legal_entity_code,
    currency_code,
    total_amount,
    credited_amount,
    paid_amount,
    cast(total_amount - credited_amount - paid_amount as numeric(18, 2)) as computed_open_amount,
    erp_open_amount,
    cast(total_amount - credited_amount - paid_amount - coalesce(erp_open_amount, 0) as numeric(18, 2))
        as difference_amount,
    cast(
        (total_amount - credited_amount - paid_amount - coalesce(erp_open_amount, 0))
        * total_amount_reporting / nullif(total_amount, 0) as numeric(18, 2)
    ) as difference_amount_reporting,
    (erp_open_amount is null or abs(total_amount - credited_amount - paid_amount - erp_open_amount) > 0.005)
        as has_difference,
    (erp_open_amount is null or abs(total_amount - credited_amount - paid_amount - erp_open_amount) > 0.005)
        as has_unexplained_difference
from {{ ref('fct_invoice') }}
