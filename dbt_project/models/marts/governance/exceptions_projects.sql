-- Project exceptions: psa_project_without_erp, erp_project_without_psa, ambiguous_project_match,
-- project_missing_cost_center / _legal_entity / _tax_setting / _billing_method.
-- The shared queue shape; open and resolved rows of the exception register.
{{ governance_area_mart('projects') }}
