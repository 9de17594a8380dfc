"""How a suite is declared: one :class:`Suite` per validated relation, a list of expectations,
each with a severity.

A suite module (``raw_psa.py``, ``marts.py``, ...) declares its suites with the helpers below, so
that a suite reads like the data contract it is::

    Suite(
        "raw_psa", "time_entries",
        key=("id", "_source_connection"),
        required=("id", "workspace_id", "user_id", "date_performed", "hours"),
        expectations=[
            iso_currency("currency"),
            non_negative("hours", "rate"),
            dates_in_range("date_performed"),
            refers_to("workspace_id", "raw_psa.workspaces", "id"),
        ],
    )

``blocking`` expectations stop what is downstream (the reverse sync, the report) when they fail;
``warning`` expectations are reported and do not stop anything. Every key column is `not null`
and the key is unique (blocking); every required column must exist (blocking).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import great_expectations.expectations as gxe

from expectations.iso4217 import ISO_4217_CODES

BLOCKING = "blocking"
WARNING = "warning"
SEVERITIES = (BLOCKING, WARNING)

# a date before this, or more than FUTURE_YEARS after the run, is a typing or entry error
EARLIEST_DATE = date(2000, 1, 1)
FUTURE_YEARS = 5


@dataclass(frozen=True)
class Reference:
    """The value set of an expectation read at validation time from another relation
    (referential sanity: a time entry's workspace exists)."""

    relation: str  # schema.table
    column: str


@dataclass(frozen=True)
class Expect:
    """One expectation: a Great Expectations class and its arguments, a severity and a short
    reason shown in the data docs. ``value_set_from`` fills ``value_set`` at run time."""

    expectation: type[gxe.Expectation]
    kwargs: dict[str, Any]
    severity: str = BLOCKING
    notes: str = ""
    value_set_from: Reference | None = None
    # only the rows where column == value, e.g. ("is_internal", False)
    where: tuple[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity {self.severity!r}: expected one of {SEVERITIES}")

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns this expectation reads (so only those are loaded)."""
        cols = [self.kwargs["column"]] if "column" in self.kwargs else []
        cols += list(self.kwargs.get("column_list") or [])
        if "column_A" in self.kwargs:
            cols += [self.kwargs["column_A"], self.kwargs["column_B"]]
        return tuple(cols) + ((self.where[0],) if self.where else ())

    @property
    def label(self) -> str:
        """``expect_column_values_to_not_be_null(currency)``: the name used in check_results."""
        snake = self.expectation.__name__
        name = "".join(f"_{c.lower()}" if c.isupper() else c for c in snake).lstrip("_")
        own = self.columns[:-1] if self.where else self.columns
        label = f"{name}({','.join(own)})" if own else name
        return f"{label} where {self.where[0]}={self.where[1]}" if self.where else label

    def build(
        self,
        value_set: Sequence[Any] | None = None,
        resolve: Callable[[Any], Any] = lambda v: v,
    ) -> gxe.Expectation:
        """The GE expectation; `resolve` turns placeholders ("$earliest") into values."""
        kwargs = {k: resolve(v) for k, v in self.kwargs.items()}
        if self.value_set_from is not None:
            kwargs["value_set"] = sorted(value_set or [])
        if self.where:
            from great_expectations.expectations.row_conditions import Column

            kwargs["row_condition"] = Column(self.where[0]) == self.where[1]
        meta = {"severity": self.severity, "conform_label": self.label}
        if self.notes:
            meta["notes"] = self.notes
        return self.expectation(**kwargs, meta=meta)


@dataclass(frozen=True)
class Suite:
    """The expectations on one relation (a raw table or a mart)."""

    schema: str
    table: str
    key: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    expectations: Sequence[Expect | Sequence[Expect]] = field(default_factory=list)
    description: str = ""
    optional: bool = False  # the table may legitimately be absent (nothing of it exists yet)
    min_rows: int = 0  # a published mart must not be empty
    # the Dagster asset key the check attaches to; default [schema, table]
    asset_key: tuple[str, ...] | None = None

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def relation(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def check_name(self) -> str:
        return "great_expectations"

    @property
    def dagster_key(self) -> tuple[str, ...]:
        return self.asset_key or (self.schema, self.table)

    def all_expectations(self) -> list[Expect]:
        """Schema (required columns) and key expectations first, then the declared ones."""
        out: list[Expect] = []
        if self.min_rows:
            out.append(
                Expect(
                    gxe.ExpectTableRowCountToBeBetween,
                    {"min_value": self.min_rows},
                    BLOCKING,
                    "a published mart is not empty",
                )
            )
        needed = tuple(dict.fromkeys([*self.key, *self.required]))
        if needed:
            out.append(
                Expect(
                    gxe.ExpectTableColumnsToMatchSet,
                    {"column_set": list(needed), "exact_match": False},
                    BLOCKING,
                    "the columns the models read exist",
                )
            )
        for col in self.key:
            out.append(not_null(col, notes="key column"))
        if len(self.key) == 1:
            out.append(Expect(gxe.ExpectColumnValuesToBeUnique, {"column": self.key[0]}))
        elif self.key:
            out.append(Expect(gxe.ExpectCompoundColumnsToBeUnique, {"column_list": list(self.key)}))
        out.extend(flatten(self.expectations))
        return out

    @property
    def has_blocking(self) -> bool:
        return any(e.severity == BLOCKING for e in self.all_expectations())

    def columns(self) -> list[str]:
        """Every column any expectation reads: what is loaded, nothing more."""
        cols: dict[str, None] = {}
        for e in self.all_expectations():
            for c in e.columns:
                cols[c] = None
            if e.expectation is gxe.ExpectTableColumnsToMatchSet:
                for c in e.kwargs["column_set"]:
                    cols[c] = None
        return list(cols)


# -- helpers: the vocabulary of the suites ----------------------------------------------------


def not_null(
    column: str, severity: str = BLOCKING, mostly: float | None = None, notes: str = ""
) -> Expect:
    """`column` is filled (in at least `mostly` of the rows: a null rate threshold)."""
    kwargs: dict[str, Any] = {"column": column}
    if mostly is not None:
        kwargs["mostly"] = mostly
    return Expect(gxe.ExpectColumnValuesToNotBeNull, kwargs, severity, notes)


def mostly_filled(
    column: str, mostly: float, notes: str = "", where: tuple[str, Any] | None = None
) -> Expect:
    """A null-rate threshold that warns (data entry gaps, not broken data), optionally only
    on the rows where `where` = (column, value) holds."""
    return Expect(
        gxe.ExpectColumnValuesToNotBeNull,
        {"column": column, "mostly": mostly},
        WARNING,
        notes or f"at most {1 - mostly:.0%} empty",
        where=where,
    )


def unique(column: str, severity: str = BLOCKING) -> Expect:
    return Expect(gxe.ExpectColumnValuesToBeUnique, {"column": column}, severity)


def iso_currency(column: str, severity: str = BLOCKING) -> Expect:
    """An active ISO 4217 code (nulls are left to `not_null`): a money amount in a non-ISO
    currency cannot be converted, posted or pushed back."""
    return Expect(
        gxe.ExpectColumnValuesToBeInSet,
        {"column": column, "value_set": sorted(ISO_4217_CODES)},
        severity,
        "ISO 4217 currency code",
    )


def in_set(column: str, values: Sequence[Any], severity: str = BLOCKING, notes: str = "") -> Expect:
    return Expect(
        gxe.ExpectColumnValuesToBeInSet,
        {"column": column, "value_set": list(values)},
        severity,
        notes,
    )


def non_negative(*columns: str, severity: str = BLOCKING) -> list[Expect]:
    """Hours and amounts that cannot be below zero."""
    return [
        Expect(
            gxe.ExpectColumnValuesToBeBetween,
            {"column": c, "min_value": 0},
            severity,
            "not negative",
        )
        for c in columns
    ]


def between(
    column: str,
    min_value: float | None = None,
    max_value: float | None = None,
    severity: str = BLOCKING,
    notes: str = "",
) -> Expect:
    kwargs: dict[str, Any] = {"column": column}
    if min_value is not None:
        kwargs["min_value"] = min_value
    if max_value is not None:
        kwargs["max_value"] = max_value
    return Expect(gxe.ExpectColumnValuesToBeBetween, kwargs, severity, notes)


def dates_in_range(*columns: str, severity: str = BLOCKING) -> list[Expect]:
    """Dates from 2000 to five years after today (bounds resolved when the suite runs)."""
    return [
        Expect(
            gxe.ExpectColumnValuesToBeBetween,
            {"column": c, "min_value": "$earliest", "max_value": "$latest"},
            severity,
            f"between {EARLIEST_DATE.isoformat()} and {FUTURE_YEARS} years from the run",
        )
        for c in columns
    ]


def refers_to(column: str, relation: str, target: str, severity: str = BLOCKING) -> Expect:
    """Every non-null `column` value exists in `relation.target` (read at validation time)."""
    return Expect(
        gxe.ExpectColumnValuesToBeInSet,
        {"column": column},
        severity,
        f"refers to {relation}.{target}",
        value_set_from=Reference(relation, target),
    )


def flatten(items: Sequence[Expect | Sequence[Expect]]) -> list[Expect]:
    out: list[Expect] = []
    for item in items:
        if isinstance(item, Expect):
            out.append(item)
        else:
            out.extend(item)
    return out


SuiteFactory = Callable[[], list[Suite]]
