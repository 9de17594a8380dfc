-- Reconciliation differences no known exception explains: unexplained_time_difference,
-- unexplained_invoice_difference, unexplained_payment_difference,
-- unexplained_receivable_difference.
-- The shared queue shape; open and resolved rows of the exception register.
{{ governance_area_mart('reconciliation') }}
