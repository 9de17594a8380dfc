-- NetSuite daily exchange rates in the common fx shape: currencyrate.exchangerate is
-- base-currency units per one transaction-currency unit, so from = transaction currency,
-- to = the base currency, rate = units of to_currency per 1 from_currency. One rate per
-- account, day and pair (the latest modified when an account holds several).
with

rates as (

    select * from {{ ref('stg_netsuite__currencyrate') }}
    where exchange_rate is not null
        and exchange_rate > 0

),

currencies as (

    select * from {{ ref('stg_netsuite__currency') }}

),

coded as (

    select
        rates.source_relation,
        rates.effective_date,
        from_currencies.currency_code as from_currency_code,
        to_currencies.currency_code as to_currency_code,
        rates.exchange_rate,
        row_number() over (
            partition by rates.source_relation, rates.effective_date,
                from_currencies.currency_code, to_currencies.currency_code
            order by rates.modified_at desc, rates.currency_rate_id desc
        ) as version_rank
    from rates
    inner join currencies as from_currencies
        on rates.source_relation = from_currencies.source_relation
        and rates.transaction_currency_id = from_currencies.currency_id
    inner join currencies as to_currencies
        on rates.source_relation = to_currencies.source_relation
        and rates.base_currency_id = to_currencies.currency_id

)

select
    cast('netsuite' as {{ dbt.type_string() }}) as source_system,
    source_relation,
    cast(effective_date as date) as rate_date,
    cast(from_currency_code as {{ dbt.type_string() }}) as from_currency_code,
    cast(to_currency_code as {{ dbt.type_string() }}) as to_currency_code,
    cast(exchange_rate as double precision) as rate

from coded
where version_rank = 1
