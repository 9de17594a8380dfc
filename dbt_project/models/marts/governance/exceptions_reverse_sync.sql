-- Open reverse-sync dead letters (reverse_sync_dead_letter).
-- The shared queue shape; open and resolved rows of the exception register.
{{ governance_area_mart('reverse_sync') }}
