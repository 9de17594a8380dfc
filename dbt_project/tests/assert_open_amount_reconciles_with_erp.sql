-- Reconciliation: the open balance Conform computes (total - credits applied - payments
-- recorded) equals the ERP's own open balance (NetSuite foreignamountremaining, Dynamics
-- AmountCur - SettledAmountCur).
--
-- Severity warn: the ERP can legitimately differ. It settles invoices with entries that are
-- neither a payment nor a credit note (write-offs, settlement discounts, exchange and
-- rounding adjustments, reversed payments), and its header balance and the payment and
-- credit tables are extracted incrementally, so a settlement made between two extractions can
-- be in one and not yet in the other. Each row is a reconciliation item for finance to
-- explain, not a broken pipeline; the ERP stays the owner of the receivable.
{{ config(severity='warn') }}

select
    invoice_key,
    invoice_number,
    open_amount,
    erp_open_amount,
    open_amount - erp_open_amount as difference
from {{ ref('fct_invoice') }}
where erp_open_amount is null
    or abs(open_amount - erp_open_amount) > 0.01
