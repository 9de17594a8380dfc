-- The firm's legal entities (seed legal_entities): where their books are kept, currencies.
select
    legal_entity_code,
    legal_entity_name,
    country_code,
    functional_currency_code,
    erp_system,
    erp_connection,
    erp_subsidiary_id,
    allowed_currency_codes,
    cast(vat_rate as numeric(6, 4)) as vat_rate,
    cast(weekly_hours as double precision) as weekly_hours
from {{ ref('legal_entities') }}
