"""What Conform may write, where: the explicit allowlist of fields per target object.

Every field the reverse sync writes is listed here with the sync model column it comes from and
the (domain, attribute) of ``dbt_project/seeds/system_of_record.csv`` that says who owns the
value. A value may be written into a target only when the target system is *not* that value's
system of record (Conform carries the owner's value to the others, never overwrites the owner),
and only into these fields: the integration fields reserved for Conform (custom fields, external
references, metadata keys). Anything else is refused before a request is built
(:func:`check_fields`), and tests assert no planned write touches another field.
"""

from __future__ import annotations

from dataclasses import dataclass

# value kinds: how values are normalised for comparison with what a target holds
TEXT, MONEY, DATE = "text", "money", "date"
# the system classes of system_of_record.csv
ERP_SYSTEMS = frozenset({"netsuite", "dynamics"})


class OwnershipError(RuntimeError):
    """A planned write touches a field outside the allowlist."""


@dataclass(frozen=True)
class Field:
    column: str  # the sync model column holding the desired value
    api_field: str  # the target API's field (custom field name, metadata key, ...)
    kind: str  # TEXT | MONEY | DATE
    domain: str  # system_of_record.csv domain ...
    attribute: str  # ... and attribute: who owns the value


@dataclass(frozen=True)
class Target:
    system: str
    object: str  # as the target API names it (and as the sync models' target_object)
    model: str  # the dbt model (schema sync) holding the desired state
    fields: tuple[Field, ...]

    def field(self, column: str) -> Field:
        for f in self.fields:
            if f.column == column:
                return f
        raise OwnershipError(f"{self.system}/{self.object}: {column!r} is not an allowed field")


def system_class(system: str) -> str:
    """The seed's names: netsuite and dynamics are both 'erp'."""
    return "erp" if system in ERP_SYSTEMS else system


_CANONICAL_ID = ("customer", "canonical_customer_id")
_ERP_NUMBER = ("customer", "erp_customer_number")
_CRM_ACCOUNT = ("customer", "crm_account_id")
_RECEIVABLES = ("customer", "receivables")
_FIN_CODES = ("project", "financial_codes")
_PSA_CODE = ("project", "psa_project_code")
_INVOICE_NUMBER = ("invoice", "invoice_number")
_INVOICE_STATUS = ("invoice", "invoice_status")


def _f(column: str, api_field: str, kind: str, owner: tuple[str, str]) -> Field:
    return Field(column, api_field, kind, *owner)


TARGETS: tuple[Target, ...] = (
    Target(
        "salesforce",
        "Account",
        "sync_salesforce__accounts",
        (
            _f("conform_id", "Conform_Id__c", TEXT, _CANONICAL_ID),
            _f("erp_customer_number", "ERP_Customer_Number__c", TEXT, _ERP_NUMBER),
            _f(
                "ultimate_parent_conform_id",
                "Ultimate_Parent_Conform_Id__c",
                TEXT,
                ("customer", "ultimate_parent"),
            ),
            _f("open_ar_amount", "Open_AR__c", MONEY, _RECEIVABLES),
            _f("overdue_ar_amount", "Overdue_AR__c", MONEY, _RECEIVABLES),
            _f("last_payment_date", "Last_Payment_Date__c", DATE, _RECEIVABLES),
        ),
    ),
    Target(
        "psa",
        "workspace_groups",
        "sync_psa__clients",
        (
            _f("conform_id", "Conform ID", TEXT, _CANONICAL_ID),
            _f("erp_customer_number", "ERP Customer Number", TEXT, _ERP_NUMBER),
        ),
    ),
    Target(
        "psa",
        "workspaces",
        "sync_psa__projects",
        (
            _f("erp_project_id", "ERP Project ID", TEXT, _FIN_CODES),
            _f("cost_center", "Cost Center", TEXT, _FIN_CODES),
            _f("legal_entity", "Legal Entity", TEXT, _FIN_CODES),
        ),
    ),
    Target(
        "psa",
        "invoices",
        "sync_psa__invoices",
        (
            _f("erp_invoice_number", "service_model_ref", TEXT, _INVOICE_NUMBER),
            _f("invoice_status", "external_status", TEXT, _INVOICE_STATUS),
            _f("payment_summary", "external_message", TEXT, _INVOICE_STATUS),
        ),
    ),
    Target(
        "netsuite",
        "customer",
        "sync_netsuite__customers",
        (
            _f("conform_id", "custentity_conform_id", TEXT, _CANONICAL_ID),
            _f("crm_account_id", "custentity_crm_account_id", TEXT, _CRM_ACCOUNT),
        ),
    ),
    Target(
        "netsuite",
        "job",
        "sync_netsuite__projects",
        (_f("psa_project_code", "custentity_psa_project_code", TEXT, _PSA_CODE),),
    ),
    Target(
        "dynamics",
        "CustomersV3",
        "sync_dynamics__customers",
        (
            _f("conform_id", "ConformCustomerId", TEXT, _CANONICAL_ID),
            _f("crm_account_id", "CrmAccountId", TEXT, _CRM_ACCOUNT),
        ),
    ),
    Target(
        "dynamics",
        "ProjectsV2",
        "sync_dynamics__projects",
        (_f("psa_project_code", "PSAProjectCode", TEXT, _PSA_CODE),),
    ),
    Target(
        "stripe",
        "customers",
        "sync_stripe__customers",
        (_f("conform_id", "conform_customer_id", TEXT, _CANONICAL_ID),),
    ),
    Target(
        "stripe",
        "invoices",
        "sync_stripe__invoices",
        (
            _f("erp_invoice_number", "erp_invoice_number", TEXT, _INVOICE_NUMBER),
            _f("erp_system", "erp_system", TEXT, _INVOICE_NUMBER),
        ),
    ),
)
SYSTEMS = ("salesforce", "psa", "netsuite", "dynamics", "stripe")


def target(system: str, obj: str) -> Target:
    for t in TARGETS:
        if t.system == system and t.object == obj:
            return t
    raise OwnershipError(f"{system}/{obj}: not a reverse-sync target")


def targets_for(systems: list[str] | None = None) -> list[Target]:
    return [t for t in TARGETS if systems is None or t.system in systems]


def check_fields(system: str, obj: str, api_fields: list[str] | set[str]) -> None:
    """Refuse a write that would touch a field outside the target object's allowlist."""
    allowed = {f.api_field for f in target(system, obj).fields}
    outside = sorted(set(api_fields) - allowed)
    if outside:
        raise OwnershipError(
            f"{system}/{obj}: refusing to write {', '.join(outside)}: not in Conform's "
            f"allowlist ({', '.join(sorted(allowed))})"
        )


def ownership_violations(owners: dict[tuple[str, str], str]) -> list[str]:
    """Allowlisted fields whose value the target system itself owns (by the seed), or whose
    owner the seed does not name: each would overwrite the owner's data."""
    problems = []
    for t in TARGETS:
        for f in t.fields:
            owner = owners.get((f.domain, f.attribute))
            if owner is None:
                problems.append(f"{t.system}/{t.object}.{f.api_field}: no system of record")
            elif owner == system_class(t.system):
                problems.append(
                    f"{t.system}/{t.object}.{f.api_field}: {f.domain}.{f.attribute} is owned "
                    f"by {owner}, the target itself"
                )
    return problems
