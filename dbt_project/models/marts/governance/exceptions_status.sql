-- Status mismatches: psa_active_erp_closed (billing leakage), invoice_disputed_collectible, stripe_paid_erp_open.
-- The shared queue shape; open and resolved rows of the exception register.
{{ governance_area_mart('status') }}
