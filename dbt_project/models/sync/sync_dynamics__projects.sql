-- What every Dynamics project matched to a PSA workspace should hold: the PSA project code.
{{ sync_erp_projects('dynamics', 'ProjectsV2') }}
