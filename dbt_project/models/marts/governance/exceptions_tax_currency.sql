-- Tax and currency exceptions: tax_id_invalid, tax_id_conflict, invoice_currency_not_allowed, missing_fx_rate.
-- The shared queue shape; open and resolved rows of the exception register.
{{ governance_area_mart('tax_currency') }}
