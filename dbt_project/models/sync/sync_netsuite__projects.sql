-- What every NetSuite project (job) matched to a PSA workspace should hold: the PSA project code.
{{ sync_erp_projects('netsuite', 'job') }}
