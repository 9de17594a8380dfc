-- What every live Dynamics customer should hold in Conform's custom fields (macro sync_erp_customers).
{{ sync_erp_customers('dynamics') }}
