"""Stand-ins for dbt's cross-database macros (`dbt.concat`, `dbt.date_trunc`, ...) so that
sqlfluff's jinja templater can render the models without dbt (see /.sqlfluff). They render
DuckDB SQL, the dialect the linter parses; dbt itself renders each adapter's own SQL."""

from __future__ import annotations


def concat(fields: list[str]) -> str:
    return " || ".join(fields)


def date_trunc(datepart: str, date: str) -> str:
    return f"date_trunc('{datepart}', {date})"


def datediff(first_date: str, second_date: str, datepart: str) -> str:
    return f"date_diff('{datepart}', {first_date}, {second_date})"


def dateadd(datepart: str, interval: int | str, from_date_or_timestamp: str) -> str:
    return f"({from_date_or_timestamp} + to_days({interval}))"


def date_spine(datepart: str, start_date: str, end_date: str) -> str:
    return (
        f"select cast(range as date) as date_{datepart} "
        f"from range({start_date}, {end_date}, interval 1 {datepart})"
    )


def type_string() -> str:
    return "varchar"


def type_timestamp() -> str:
    return "timestamp"


def type_numeric() -> str:
    return "numeric(28, 6)"


def type_int() -> str:
    return "integer"


def type_bigint() -> str:
    return "bigint"


def type_float() -> str:
    return "double precision"


def type_boolean() -> str:
    return "boolean"


def safe_cast(field: str, type: str) -> str:  # noqa: A002 - dbt's own argument name
    return f"try_cast({field} as {type})"


def split_part(string_text: str, delimiter_text: str, part_number: int) -> str:
    return f"split_part({string_text}, {delimiter_text}, {part_number})"


def hash(field: str) -> str:  # noqa: A001 - dbt's own macro name
    return f"md5(cast({field} as varchar))"


def listagg(
    measure: str, delimiter_text: str = "','", order_by_clause: str = "", limit_num: object = None
) -> str:
    return f"string_agg({measure}, {delimiter_text} {order_by_clause})"


def bool_or(expression: str) -> str:
    return f"bool_or({expression})"


def any_value(expression: str) -> str:
    return f"any_value({expression})"


def current_timestamp() -> str:
    return "current_timestamp"


def last_day(date: str, datepart: str) -> str:
    return f"last_day({date})"


def string_literal(value: str) -> str:
    return f"'{value}'"
