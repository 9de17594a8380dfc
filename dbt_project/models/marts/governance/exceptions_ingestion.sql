-- Records quarantined at ingestion (quarantined_record), from every raw_<system>._quarantine table.
-- The shared queue shape; open and resolved rows of the exception register.
{{ governance_area_mart('ingestion') }}
