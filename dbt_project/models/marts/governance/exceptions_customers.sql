-- Customer exceptions: duplicate_customer, uncertain_customer_match, customer_missing_in_erp.
-- The shared queue shape; open and resolved rows of the exception register.
{{ governance_area_mart('customers') }}
