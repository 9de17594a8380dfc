"""Plan the simulated firm's business from seed and scale (see business.py for the objects)."""

from __future__ import annotations

import itertools
import math
import random
import string
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from simulator.business import (
    ABBREVIATIONS,
    CITIES,
    COUNTRY_NAMES,
    COUNTRY_WEIGHTS,
    DATASET_END,
    ENGAGEMENTS,
    EXPENSE_CATEGORIES,
    FAULT_RATES,
    FIRST_NAMES,
    FX_BASE,
    FX_LOOKBACK_DAYS,
    HORIZON_DAYS,
    INDUSTRIES,
    LAST_NAMES,
    LE_BY_COUNTRY,
    LEGAL_ENTITIES,
    LEGAL_FORMS,
    NAME_HEADS,
    NAME_TAILS,
    PRACTICES,
    ROLE_WEIGHTS,
    ROLES,
    SCALES,
    STREETS,
    SUBSIDIARY_WORD,
    TLD,
    UNRATED_CURRENCY,
    Client,
    CreditMemo,
    Employee,
    Expense,
    Invoice,
    LegalEntity,
    Line,
    Milestone,
    Payment,
    Plan,
    Project,
    SourceClient,
    TimeEntry,
    add_months,
    at,
    business_days,
    format_tax_id,
    invalid_tax_id,
    month_end,
    month_start,
    rng_for,
    strip_accents,
    tax_scheme_name,
    valid_tax_id,
)
from simulator.sfid import make_id


class Ids:
    """Sequential ids per namespace, in the style of each system."""

    def __init__(self) -> None:
        self.counters: dict[str, itertools.count] = {}

    def next(self, namespace: str, start: int = 1) -> int:
        if namespace not in self.counters:
            self.counters[namespace] = itertools.count(start)
        return next(self.counters[namespace])


def stripe_id(rng: random.Random, prefix: str) -> str:
    return prefix + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(14))


def weighted(rng: random.Random, weights: dict) -> object:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def quarter(hours: float) -> float:
    return max(0.0, round(hours * 4) / 4)


# --------------------------------------------------------------------------------------------


def plan(seed: int, scale_name: str) -> Plan:
    if scale_name not in SCALES:
        raise ValueError(f"unknown scale {scale_name!r}; known: {', '.join(SCALES)}")
    scale = SCALES[scale_name]
    end = DATASET_END
    start = add_months(month_start(end), -(scale.months - 1))
    horizon = end + timedelta(days=HORIZON_DAYS)
    ids = Ids()
    fx = _plan_fx(seed, start - timedelta(days=FX_LOOKBACK_DAYS), horizon)
    holidays = {
        le.code: {
            date(y, m, d) for y in range(start.year - 1, horizon.year + 1) for (m, d) in le.holidays
        }
        for le in LEGAL_ENTITIES
    }
    p = Plan(
        seed=seed,
        scale_name=scale_name,
        scale=scale,
        start=start,
        end=end,
        horizon=horizon,
        clients=[],
        employees=[],
        projects=[],
        entries=[],
        expenses=[],
        invoices=[],
        fx=fx,
        deletions=[],
        holidays=holidays,
        opportunities=[],
        stripe_customers={},
    )
    _plan_clients(p, ids)
    _plan_employees(p, ids)
    _plan_projects(p, ids)
    _plan_source_clients(p, ids)
    _plan_erp_projects(p, ids)
    _plan_time(p, ids)
    _plan_invoices(p, ids)
    _plan_opportunities(p, ids)
    return p


def _plan_fx(seed: int, first: date, last: date) -> dict[str, dict[date, float]]:
    rng = rng_for(seed, "fx")
    out: dict[str, dict[date, float]] = {}
    for ccy, base in FX_BASE.items():
        series, rate, d = {}, base, first
        while d <= last:
            if ccy != "USD":
                rate *= math.exp(rng.gauss(0, 0.004))
            series[d] = round(rate, 6)
            d += timedelta(days=1)
        out[ccy] = series
    return out


# -- clients ---------------------------------------------------------------------------------


def _plan_clients(p: Plan, ids: Ids) -> None:
    rng = rng_for(p.seed, "clients")
    n_total = p.scale.clients + int(p.scale.clients * p.scale.prospects)
    pairs = [(h, t) for h in NAME_HEADS for t in NAME_TAILS]
    rng.shuffle(pairs)
    pair_iter = iter(pairs)
    countries = list(COUNTRY_WEIGHTS)
    first_day = datetime.combine(p.start, datetime.min.time(), UTC)
    span = (datetime.combine(p.horizon, datetime.min.time(), UTC) - first_day).days
    for n in range(1, n_total + 1):
        is_prospect = n > p.scale.clients
        parent = None
        if not is_prospect and n > 8 and rng.random() < 0.18:
            candidates = [c for c in p.clients[-60:] if c.parent is None and not c.is_prospect]
            parent = rng.choice(candidates) if candidates else None
        if parent is not None:
            country = rng.choice([c for c in countries if c != parent.country])
            base_name = f"{parent.base_name} {SUBSIDIARY_WORD[country]}"
        else:
            country = weighted(rng, COUNTRY_WEIGHTS)
            head, tail = next(pair_iter)
            base_name = f"{head} {tail}"
        form = rng.choice(LEGAL_FORMS[country])
        # ~10% of clients arrive during the simulated period (some after the clock)
        if rng.random() < 0.1 and not is_prospect:
            created = first_day + timedelta(days=rng.uniform(20, span - 5))
        else:
            created = first_day - timedelta(days=rng.uniform(30, 1100))
        created = created.replace(microsecond=0)
        domain_word = strip_accents(base_name.split()[0]).lower().replace("'", "")
        domain = f"{domain_word}{strip_accents(base_name.split()[-1]).lower()[:6]}.{TLD[country]}"
        if parent is not None:
            domain = f"{parent.domain.split('.')[0]}.{TLD[country]}"
        client = Client(
            id=f"C{n:05d}",
            n=n,
            legal_name=f"{base_name} {form[0]}",
            base_name=base_name,
            legal_form=form,
            country=country,
            tax_id=valid_tax_id(rng, country, created.year),
            tax_scheme=tax_scheme_name(country),
            domain=domain,
            city=rng.choice(CITIES[country]),
            street=f"{rng.randint(1, 250)} {rng.choice(STREETS)}",
            postal_code=f"{rng.randint(10000, 99999)}",
            phone=f"+{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
            industry=rng.choice(INDUSTRIES),
            parent=parent,
            le=LE_BY_COUNTRY[country],
            created=created,
            is_prospect=is_prospect,
            card_payer=rng.random() < 0.3,
            pay_days=rng.choice((20, 28, 30, 35, 45, 60, 75)),
            bad_payer=rng.random() < 0.05,
        )
        p.clients.append(client)


# -- employees -------------------------------------------------------------------------------


def _plan_employees(p: Plan, ids: Ids) -> None:
    rng = rng_for(p.seed, "employees")
    le_weights = {le.code: COUNTRY_WEIGHTS[le.country] for le in LEGAL_ENTITIES}
    used_emails: set[str] = set()
    for n in range(1, p.scale.employees + 1):
        le_code = weighted(rng, le_weights)
        le = next(x for x in LEGAL_ENTITIES if x.code == le_code)
        role = weighted(rng, ROLE_WEIGHTS)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email_local = strip_accents(f"{first}.{last}").lower().replace(" ", "").replace("'", "")
        email = f"{email_local}@conform-consulting.com"
        k = 2
        while email in used_emails:
            email = f"{email_local}{k}@conform-consulting.com"
            k += 1
        used_emails.add(email)
        util = ROLES[role][2] + rng.gauss(0, 0.07)
        if rng.random() < 0.06:  # far below capacity (bench, long illness, pre-sales)
            util = rng.uniform(0.1, 0.3)
        elif rng.random() < 0.05:  # far above (overloaded)
            util = rng.uniform(0.93, 0.99)
        hired = p.start - timedelta(days=rng.randint(60, 3000))
        if rng.random() < 0.08:
            hired = p.start + timedelta(days=rng.randint(10, max(11, (p.end - p.start).days)))
        left = None
        if rng.random() < 0.05:
            left = p.start + timedelta(days=rng.randint(30, max(31, (p.end - p.start).days)))
        weekly = le.weekly_hours if rng.random() > 0.1 else round(le.weekly_hours * 0.8, 1)
        emp = Employee(
            id=f"E{n:05d}",
            n=n,
            first=first,
            last=last,
            email=email,
            le=le,
            practice=rng.choice(PRACTICES),
            role=role,
            weekly_hours=weekly,
            target_util=min(0.99, max(0.05, util)),
            hired=hired,
            left=left,
            psa_user_id=str(7000000 + n),
            psa_membership_id=str(7100000 + n),
            erp_id="",
            sf_user_id=None,
        )
        # ~20 days of leave a year, in a few blocks
        d = max(p.start, hired)
        while d < p.horizon:
            if rng.random() < 0.045:
                length = rng.choice((1, 1, 2, 3, 5, 5, 10))
                for i in range(length):
                    emp.leave_days.add(d + timedelta(days=i))
                d += timedelta(days=length + 7)
            d += timedelta(days=7)
        if le.system == "netsuite":
            emp.erp_id = str(ids.next(f"ns-emp-{le.connection}", 301))
        else:
            emp.erp_id = f"{ids.next('d365-personnel', 100001):06d}"
        if role in ("Partner", "Senior Manager"):
            emp.sf_user_id = make_id("005", ids.next("sf-user", 1000))
        p.employees.append(emp)


# -- projects --------------------------------------------------------------------------------


def _plan_projects(p: Plan, ids: Ids) -> None:
    rng = rng_for(p.seed, "projects")
    engagement_start = p.start - timedelta(days=120)
    for client in p.clients:
        if client.is_prospect:
            continue
        count = rng.choices((1, 2, 3, 4), weights=(35, 35, 20, 10))[0]
        for _ in range(count):
            earliest = max(engagement_start, client.created.date() + timedelta(days=7))
            if earliest >= p.horizon - timedelta(days=10):
                continue
            start = earliest + timedelta(
                days=rng.randint(0, max(0, (p.horizon - earliest).days - 10))
            )
            if start > p.end + timedelta(days=40):
                start = earliest + timedelta(days=rng.randint(0, 30))
            length = rng.choice((45, 60, 90, 120, 150, 180, 240))
            kind = "ff" if rng.random() < 0.3 else "tm"
            _add_project(
                p, ids, rng, client, client.le, kind, start, start + timedelta(days=length)
            )
    # internal, non-billable workspaces per legal entity
    for le in LEGAL_ENTITIES:
        for title in ("Business Development", "Training & Administration"):
            _add_project(
                p,
                ids,
                rng,
                None,
                le,
                "internal",
                p.start - timedelta(days=400),
                p.horizon + timedelta(days=365),
                title=f"Internal - {title} ({le.code.upper()})",
            )


def _add_project(
    p: Plan,
    ids: Ids,
    rng: random.Random,
    client: Client | None,
    le: LegalEntity,
    kind: str,
    start: date,
    end: date,
    title: str | None = None,
) -> Project:
    n = ids.next("project")
    practice = rng.choice(PRACTICES)
    if title is None:
        short = client.base_name if client else le.name
        title = f"{short} - {rng.choice(ENGAGEMENTS)}"
    created = at(start, 9) - timedelta(days=rng.randint(3, 20))
    completed_at = at(end, 17) + timedelta(days=rng.randint(0, 10)) if kind != "internal" else None
    project = Project(
        id=f"P{n:05d}",
        n=n,
        client=client,
        le=le,
        kind=kind,
        title=title,
        practice=practice,
        start=start,
        end=end,
        currency=le.currency,
        discount=rng.choice((0, 0, 0, 0.05, 0.1, 0.15)),
        psa_id=str(6000000 + n),
        psa_code=f"PSA-{n:06d}",
        created=created,
        completed_at=completed_at,
        erp_id=None,
        erp_code=None,
        erp_created=None,
        erp_closed_at=None,
        cost_center=None,
        psa_billing_method={
            "tm": "Time and Materials",
            "ff": "Fixed Fee",
            "internal": "Non-billable",
        }[kind],
        psa_erp_id_value=None,
        phase_story_id=str(8000000 + n),
    )
    if kind == "ff":
        months = max(1.0, (end - start).days / 30)
        project.fee_cents = (
            int(round(months * rng.uniform(40000, 160000) * FX_BASE[le.currency], -4)) * 100
        )
        count = rng.choice((2, 3, 4))
        share = project.fee_cents // count
        for i in range(count):
            due = start + timedelta(days=int((end - start).days * (i + 1) / count))
            amount = share if i < count - 1 else project.fee_cents - share * (count - 1)
            project.milestones.append(
                Milestone(
                    story_id=str(8500000 + n * 10 + i),
                    title=f"Milestone {i + 1}",
                    due=due,
                    amount_cents=amount,
                    completed_at=at(due, 16) + timedelta(days=rng.randint(0, 6)),
                )
            )
    p.projects.append(project)
    return project


# -- client records in each system -----------------------------------------------------------


def _name_variant(rng: random.Random, client: Client, style: str) -> str:
    suffix_p = {"crm": 0.6, "psa": 0.3, "erp": 0.95, "stripe": 0.7}[style]
    base = client.base_name
    if rng.random() < 0.15:
        for long, short in ABBREVIATIONS.items():
            if long in base:
                base = base.replace(long, short)
                break
    if "&" in base and rng.random() < 0.4:
        base = base.replace("&", "and")
    if rng.random() < (0.5 if style == "erp" else 0.25):
        base = strip_accents(base)
    if style in ("crm", "psa") and rng.random() < 0.05 and len(base) > 8:
        chars = list(base)
        i = rng.randint(1, len(chars) - 3)
        if chars[i].isalpha() and chars[i + 1].isalpha():
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
            base = "".join(chars)
    name = base
    if rng.random() < suffix_p:
        form = (
            client.legal_form[0]
            if (style == "erp" and rng.random() < 0.8)
            else rng.choice(client.legal_form)
        )
        sep = ", " if rng.random() < 0.15 else " "
        name = f"{base}{sep}{form}"
    if style == "erp" and rng.random() < 0.15:
        name = name.upper()
    elif rng.random() < 0.03:
        name = name.lower()
    if style == "psa" and rng.random() < 0.05:
        name = f"{name} ({client.country})"
    return name


def _website_variant(rng: random.Random, domain: str) -> str:
    return rng.choice(
        (f"https://www.{domain}", f"http://{domain}", f"www.{domain}", domain, f"https://{domain}/")
    )


def _plan_source_clients(p: Plan, ids: Ids) -> None:
    rng = rng_for(p.seed, "source-clients")
    has_projects = {pr.client.id for pr in p.projects if pr.client is not None}
    first_project = {}
    for pr in p.projects:
        if pr.client is not None:
            first_project[pr.client.id] = min(
                first_project.get(pr.client.id, pr.created), pr.created
            )
    primary: dict[tuple[str, str], SourceClient] = {}

    def add(rec: SourceClient) -> SourceClient:
        rec.client.records.append(rec)
        if not rec.is_duplicate:
            primary[(rec.client.id, rec.system)] = rec
        return rec

    def sf_account(client: Client, duplicate: bool) -> SourceClient:
        tax = None
        if rng.random() < 0.65:
            tax = format_tax_id(rng, client.tax_id, client.country)
        created = client.created + (
            timedelta(days=rng.uniform(5, 300)) if duplicate else timedelta()
        )
        return add(
            SourceClient(
                "salesforce",
                "crm",
                "Account",
                make_id("001", ids.next("sf-account", 1000)),
                client,
                _name_variant(rng, client, "crm"),
                None if duplicate and rng.random() < 0.5 else tax,
                rng.choice(COUNTRY_NAMES[client.country]),
                _website_variant(rng, client.domain),
                created.replace(microsecond=0),
                is_duplicate=duplicate,
            )
        )

    for client in p.clients:
        # -- CRM: every client and prospect
        acct = sf_account(client, False)
        if "tax_id_invalid" not in client.faults and rng.random() < FAULT_RATES["tax_id_invalid"]:
            client.faults.add("tax_id_invalid")
            acct.tax_id = invalid_tax_id(rng, client.tax_id, client.country)
        if rng.random() < FAULT_RATES["duplicate_in_crm"]:
            dup = sf_account(client, True)
            client.faults.add("duplicate_in_crm")
            if rng.random() < 0.4:  # merged away later: a soft delete in the CRM
                dup.deleted_at = dup.created + timedelta(days=rng.uniform(20, 200))
                p.deletions.append(dup)
        if client.id not in has_projects:
            continue
        onboard = first_project[client.id] - timedelta(days=rng.uniform(1, 10))
        onboard = max(onboard, client.created).replace(microsecond=0)
        # -- PSA
        for dup in (False, True):
            if dup and rng.random() >= FAULT_RATES["duplicate_in_psa"]:
                break
            if dup:
                client.faults.add("duplicate_in_psa")
            add(
                SourceClient(
                    "psa",
                    "psa",
                    "workspace_groups",
                    str(5000000 + ids.next("psa-group")),
                    client,
                    _name_variant(rng, client, "psa"),
                    None,
                    None,
                    _website_variant(rng, client.domain) if rng.random() < 0.4 else None,
                    onboard + (timedelta(days=rng.uniform(1, 60)) if dup else timedelta()),
                    is_duplicate=dup,
                )
            )
        # -- ERP of the billing legal entity
        le = client.le
        if rng.random() < FAULT_RATES["customer_missing_in_erp"]:
            client.faults.add("customer_missing_in_erp")
        else:
            for dup in (False, True):
                if dup and rng.random() >= FAULT_RATES["duplicate_in_erp"]:
                    break
                if dup:
                    client.faults.add("duplicate_in_erp")
                tax = (
                    format_tax_id(rng, client.tax_id, client.country)
                    if rng.random() < 0.92
                    else None
                )
                if not dup and tax and rng.random() < FAULT_RATES["tax_id_conflict"]:
                    client.faults.add("tax_id_conflict")
                    tax = valid_tax_id(rng, client.country, 2024)
                if le.system == "netsuite":
                    n = ids.next(f"ns-cust-{le.connection}", 1001)
                    source_id = str(n)
                    number = f"CUST{n:05d}"
                    obj = "customer"
                else:
                    n = ids.next(f"d365-cust-{le.code}", 1)
                    source_id = f"{le.code}|{le.country}-C{n:05d}"
                    number = f"{le.country}-C{n:05d}"
                    obj = "CustomersV3"
                rec = add(
                    SourceClient(
                        le.system,
                        le.connection,
                        obj,
                        source_id,
                        client,
                        _name_variant(rng, client, "erp"),
                        tax,
                        client.country,
                        _website_variant(rng, client.domain),
                        onboard + (timedelta(days=rng.uniform(1, 90)) if dup else timedelta()),
                        is_duplicate=dup,
                    )
                )
                rec.extra["number"] = number
                rec.extra["le"] = le.code
                if dup and le.system == "netsuite" and rng.random() < 0.5:
                    # the duplicate is found and deleted in NetSuite later
                    rec.deleted_at = (rec.created + timedelta(days=rng.uniform(30, 150))).replace(
                        microsecond=0
                    )
                    p.deletions.append(rec)
            # a link the CRM already holds: the ERP customer number on the Account
            erp = primary.get((client.id, le.system))
            if erp is not None and rng.random() < 0.4:
                acct.erp_number_hint = erp.extra["number"]
        # -- Stripe, for clients who pay by card
        if client.card_payer:
            cus = stripe_id(rng, "cus_")
            p.stripe_customers[client.id] = cus
            rec = add(
                SourceClient(
                    "stripe",
                    "stripe",
                    "customers",
                    cus,
                    client,
                    _name_variant(rng, client, "stripe"),
                    None,
                    client.country,
                    None,
                    onboard + timedelta(days=rng.uniform(2, 20)),
                )
            )
            erp = primary.get((client.id, le.system))
            if erp is not None and rng.random() < 0.3:
                rec.erp_number_hint = erp.extra["number"]
    # hierarchy: parents in the CRM (mostly maintained) and in the ERP (when in the same books)
    for client in p.clients:
        if client.parent is None:
            continue
        for rec in client.records:
            parent_rec = primary.get((client.parent.id, rec.system))
            if parent_rec is None or rec.is_duplicate:
                continue
            if (
                rec.system == "salesforce"
                and rng.random() < 0.85
                or (
                    rec.system in ("netsuite", "dynamics")
                    and parent_rec.connection == rec.connection
                    and (
                        rec.system == "netsuite"
                        or parent_rec.extra.get("le") == rec.extra.get("le")
                    )
                )
            ):
                rec.parent_source_id = parent_rec.source_id


def primary_record(client: Client, system: str) -> SourceClient | None:
    for rec in client.records:
        if rec.system == system and not rec.is_duplicate:
            return rec
    return None


# -- ERP projects ----------------------------------------------------------------------------


def _plan_erp_projects(p: Plan, ids: Ids) -> None:
    rng = rng_for(p.seed, "erp-projects")
    for pr in p.projects:
        if pr.kind == "internal":
            continue
        erp_customer = primary_record(pr.client, pr.le.system)
        if erp_customer is None:
            pr.faults.add("psa_project_without_erp")  # the client is missing in the ERP too
        elif rng.random() < FAULT_RATES["psa_project_without_erp"]:
            pr.faults.add("psa_project_without_erp")
        else:
            pr.erp_created = pr.created + timedelta(days=rng.uniform(0.5, 6))
            if pr.le.system == "netsuite":
                n = ids.next(f"ns-job-{pr.le.connection}", 20001)
                pr.erp_id = str(n)
                pr.erp_code = f"PRJ-{pr.le.country}-{n:05d}"
            else:
                n = ids.next(f"d365-proj-{pr.le.code}", 1)
                pr.erp_code = f"{pr.le.code.upper()}-{n:06d}"
                pr.erp_id = pr.erp_code
            pr.cost_center = f"CC-{pr.le.code.upper()}-{pr.practice[0]}"
            if rng.random() < FAULT_RATES["project_missing_cost_center"]:
                pr.faults.add("project_missing_cost_center")
                pr.cost_center = None
            if rng.random() < FAULT_RATES["psa_active_erp_closed"] and pr.end > p.start + timedelta(
                days=30
            ):
                pr.faults.add("psa_active_erp_closed")
                span = max(10, (pr.end - pr.start).days)
                pr.erp_closed_at = at(
                    pr.start + timedelta(days=rng.randint(span // 4, span // 2)), 11
                )
            elif pr.completed_at is not None:
                pr.erp_closed_at = pr.completed_at + timedelta(days=rng.uniform(5, 25))
            # the existing PSA→ERP integration filled the PSA's ERP Project ID field, mostly
            roll = rng.random()
            if roll < 0.8:
                pr.psa_erp_id_value = pr.erp_code
            elif roll < 0.88:
                pr.psa_erp_id_value = pr.erp_code.lower().replace("-", " ", 1)
        if rng.random() < FAULT_RATES["project_missing_billing_method"]:
            pr.faults.add("project_missing_billing_method")
            pr.psa_billing_method = None
    # projects opened directly in the ERP, never set up in the PSA
    clients = [c for c in p.clients if not c.is_prospect]
    extra = max(1, int(len(p.projects) * FAULT_RATES["erp_project_without_psa"]))
    for _ in range(extra):
        client = rng.choice(clients)
        customer = primary_record(client, client.le.system)
        if customer is None:
            continue
        start = p.start + timedelta(days=rng.randint(0, max(1, (p.end - p.start).days - 20)))
        # opened in the ERP only once the customer exists there
        start = max(start, customer.created.date() + timedelta(days=30))
        pr = _add_project(p, ids, rng, client, client.le, "tm", start, start + timedelta(days=90))
        pr.erp_only = True
        pr.faults.add("erp_project_without_psa")
        pr.psa_id = ""
        pr.erp_created = pr.created
        if client.le.system == "netsuite":
            n = ids.next(f"ns-job-{client.le.connection}", 20001)
            pr.erp_id, pr.erp_code = str(n), f"PRJ-{client.le.country}-{n:05d}"
        else:
            n = ids.next(f"d365-proj-{client.le.code}", 1)
            pr.erp_id = pr.erp_code = f"{client.le.code.upper()}-{n:06d}"
        pr.cost_center = f"CC-{client.le.code.upper()}-{pr.practice[0]}"
        pr.erp_closed_at = pr.completed_at


# -- time and expenses -----------------------------------------------------------------------


def rate_card(role: str, currency: str, which: int = 0) -> int:
    """Standard hourly rate (which=0 bill, 1 cost) of a role, in whole currency units."""
    usd = ROLES[role][which]
    return int(round(usd * FX_BASE[currency] / 5) * 5)


def _plan_time(p: Plan, ids: Ids) -> None:
    rng = rng_for(p.seed, "time")
    internal = {}
    for pr in p.projects:
        if pr.kind == "internal":
            internal.setdefault(pr.le.code, []).append(pr)
    client_projects = [pr for pr in p.projects if pr.kind != "internal" and not pr.erp_only]
    months = []
    m = month_start(p.start)
    while m <= p.horizon:
        months.append(m)
        m = add_months(m, 1)
    # staffing: per employee and month, one or two client projects active that month
    staffing: dict[tuple[str, date], list[Project]] = {}
    for m in months:
        m_end = month_end(m)
        active = [pr for pr in client_projects if pr.start <= m_end and pr.end >= m]
        by_practice: dict[str, list[Project]] = defaultdict(list)
        for pr in active:
            by_practice[pr.practice[0]].append(pr)
        for emp in p.employees:
            if not active:
                continue
            pool = by_practice.get(emp.practice[0]) or active
            if rng.random() < 0.25:
                pool = active
            k = 1 if rng.random() < 0.6 else 2
            staffing[(emp.id, m)] = rng.sample(pool, min(k, len(pool)))
    entry_seq = itertools.count(1)
    posting_ids: dict[str, itertools.count] = {}
    for emp in p.employees:
        cal = p.holidays[emp.le.code]
        daily = emp.weekly_hours / 5
        for day in business_days(max(p.start, emp.hired), p.horizon):
            if (emp.left and day > emp.left) or day in cal or day in emp.leave_days:
                continue
            worked = quarter(daily + rng.gauss(0.1, 0.5))
            if emp.target_util > 0.9:
                worked = quarter(worked + rng.uniform(0.5, 2.5))
            assigned = [
                pr
                for pr in staffing.get((emp.id, month_start(day)), ())
                if pr.start <= day <= pr.end
            ]
            billable_hours = (
                quarter(worked * emp.target_util * rng.uniform(0.8, 1.2)) if assigned else 0.0
            )
            billable_hours = min(billable_hours, worked)
            chunks: list[tuple[Project, float, bool]] = []
            if billable_hours > 0:
                if len(assigned) == 2 and billable_hours >= 2:
                    first = quarter(billable_hours * rng.uniform(0.3, 0.7))
                    chunks += [
                        (assigned[0], first, True),
                        (assigned[1], billable_hours - first, True),
                    ]
                else:
                    chunks.append((assigned[0], billable_hours, True))
            rest = worked - billable_hours
            if rest >= 0.5:
                if assigned and rng.random() < 0.15:
                    chunks.append((assigned[0], rest, False))
                else:
                    chunks.append((rng.choice(internal[emp.le.code]), rest, False))
            for pr, hours, billable in chunks:
                if hours <= 0:
                    continue
                p.entries.append(
                    _time_entry(p, rng, next(entry_seq), pr, emp, day, hours, billable, posting_ids)
                )
        # expenses: a few a month on client work
        week = max(p.start, emp.hired)
        while week <= p.horizon:
            if emp.left and week > emp.left:
                break
            if rng.random() < 0.22:
                assigned = staffing.get((emp.id, month_start(week)))
                if assigned:
                    pr = assigned[0]
                    if pr.start <= week <= pr.end:
                        cat, lo, hi = rng.choice(EXPENSE_CATEGORIES)
                        amount = int(rng.uniform(lo, hi) * FX_BASE[pr.currency] * 100)
                        p.expenses.append(
                            Expense(
                                id=str(9500000 + ids.next("expense")),
                                project=pr,
                                employee=emp,
                                day=week,
                                category=cat,
                                amount_cents=amount,
                                billable=rng.random() < 0.75,
                                created=at(week, 19) + timedelta(days=rng.uniform(0, 4)),
                            )
                        )
            week += timedelta(days=7)
    p.entries.sort(key=lambda e: (e.created, e.id))


def _time_entry(
    p: Plan,
    rng: random.Random,
    seq: int,
    pr: Project,
    emp: Employee,
    day: date,
    hours: float,
    billable: bool,
    posting_ids: dict,
) -> TimeEntry:
    created = at(day, rng.uniform(16, 21)).replace(microsecond=0)
    if rng.random() < 0.1:
        created += timedelta(days=rng.randint(1, 4))  # keyed in late
    approved = created + timedelta(hours=rng.uniform(20, 140))
    if rng.random() < 0.01:
        approved += timedelta(days=rng.uniform(15, 35))
    approved = approved.replace(microsecond=0)
    rate = rate_card(emp.role, pr.currency) * (1 - pr.discount)
    entry = TimeEntry(
        id=str(900000000 + seq),
        project=pr,
        employee=emp,
        day=day,
        minutes=int(round(hours * 60)),
        billable=billable,
        rate_cents=int(round(rate)) * 100 if billable else 0,
        cost_cents=rate_card(emp.role, pr.currency, 1) * 100,
        story_id=pr.phase_story_id,
        created=created,
        approved_at=approved,
        posted_at=None,
        erp_id=None,
        notes=rng.choice(
            (
                "Workshop",
                "Analysis",
                "Client meeting",
                "Documentation",
                "Design",
                "Testing",
                "Status reporting",
                "",
            )
        ),
    )
    # posting to the ERP: after approval, only onto an open ERP project
    if pr.erp_id is not None and pr.kind != "internal":
        posted = approved + timedelta(hours=rng.uniform(6, 90))
        open_erp = pr.erp_closed_at is None or posted < pr.erp_closed_at
        if open_erp and rng.random() >= FAULT_RATES["time_not_posted"]:
            entry.posted_at = posted.replace(microsecond=0)
            key = f"{pr.le.system}-{pr.le.connection}"
            counter = posting_ids.setdefault(key, itertools.count(500001))
            entry.erp_id = (
                str(next(counter))
                if pr.le.system == "netsuite"
                else f"PHT-{pr.le.code.upper()}-{next(counter):07d}"
            )
    return entry


# -- invoices, credits, disputes, payments ---------------------------------------------------


def _plan_invoices(p: Plan, ids: Ids) -> None:
    rng = rng_for(p.seed, "invoices")
    entries_by_project: dict[str, list[TimeEntry]] = defaultdict(list)
    for e in p.entries:
        if e.billable and e.project.kind == "tm":
            entries_by_project[e.project.id].append(e)
    expenses_by_project: dict[str, list[Expense]] = defaultdict(list)
    for x in p.expenses:
        if x.billable and x.project.kind == "tm":
            expenses_by_project[x.project.id].append(x)
    horizon_dt = at(p.horizon, 23)
    for pr in p.projects:
        if pr.erp_id is None or pr.client is None or pr.kind == "internal" or pr.erp_only:
            continue
        customer = primary_record(pr.client, pr.le.system)
        if customer is None:
            continue
        if pr.kind == "tm":
            pending = sorted(entries_by_project.get(pr.id, ()), key=lambda e: (e.day, e.id))
            pending_x = sorted(expenses_by_project.get(pr.id, ()), key=lambda x: (x.day, x.id))
            m = month_start(pr.start)
            while m <= p.horizon:
                issue_day = month_end(m) + timedelta(days=3)
                while issue_day.weekday() >= 5:
                    issue_day += timedelta(days=1)
                issued = at(issue_day, rng.uniform(9, 12)).replace(microsecond=0)
                if issued > horizon_dt:
                    break
                if pr.erp_closed_at is not None and issued > pr.erp_closed_at:
                    break  # nothing can be billed on a closed ERP project
                period_end = month_end(m)
                take = [e for e in pending if e.day <= period_end and e.approved_at <= issued]
                take_x = [x for x in pending_x if x.day <= period_end and x.created <= issued]
                if take or take_x:
                    taken = {id(e) for e in take}
                    pending = [e for e in pending if id(e) not in taken]
                    taken_x = {id(x) for x in take_x}
                    pending_x = [x for x in pending_x if id(x) not in taken_x]
                    _invoice(
                        p,
                        ids,
                        rng,
                        pr,
                        customer,
                        issued,
                        "tm",
                        entries=take,
                        expenses=take_x,
                        period=m,
                    )
                m = add_months(m, 1)
        else:
            for ms in pr.milestones:
                if ms.completed_at is None:
                    continue
                issued = (ms.completed_at + timedelta(days=1)).replace(microsecond=0)
                if issued > horizon_dt:
                    continue
                if pr.erp_closed_at is not None and issued > pr.erp_closed_at:
                    continue
                _invoice(p, ids, rng, pr, customer, issued, "milestone", milestone=ms)
    p.invoices.sort(key=lambda i: (i.issued, i.number))


def _invoice(
    p: Plan,
    ids: Ids,
    rng: random.Random,
    pr: Project,
    customer: SourceClient,
    issued: datetime,
    kind: str,
    entries: list[TimeEntry] = (),
    expenses: list[Expense] = (),
    milestone: Milestone | None = None,
    period: date | None = None,
) -> Invoice:
    le = pr.le
    currency = pr.currency
    faults: set[str] = set()
    if rng.random() < FAULT_RATES["invoice_currency_not_allowed"]:
        faults.add("invoice_currency_not_allowed")
        if rng.random() < 0.3:
            currency = UNRATED_CURRENCY
            faults.add("missing_fx_rate")
        else:
            currency = next(
                c for c in ("USD", "EUR", "GBP", "AUD") if c not in le.allowed_currencies
            )
    factor = 1.0
    if currency != pr.currency:
        usd = FX_BASE.get(currency, 0.88)
        factor = usd / FX_BASE[pr.currency]
    lines: list[Line] = []
    if kind == "tm":
        by_role: dict[tuple[str, float], float] = defaultdict(float)
        for e in entries:
            by_role[(e.employee.role, e.rate_cents / 100)] += e.minutes / 60
        month_name = period.strftime("%B %Y") if period else ""
        for (role, rate), hours in sorted(by_role.items()):
            r = round(rate * factor, 2)
            lines.append(
                Line(
                    "Professional Services",
                    f"{role} - {month_name}",
                    round(hours, 2),
                    r,
                    round(hours * r, 2),
                )
            )
        if expenses:
            amount = round(sum(x.amount_cents for x in expenses) / 100 * factor, 2)
            lines.append(
                Line("Reimbursable Expenses", f"Expenses - {month_name}", 1, amount, amount)
            )
    else:
        amount = round(milestone.amount_cents / 100 * factor, 2)
        lines.append(
            Line("Fixed Fee Milestone", f"{pr.title}: {milestone.title}", 1, amount, amount)
        )
    subtotal = round(sum(line.amount for line in lines), 2)
    tax = round(subtotal * le.vat_rate, 2)
    n = ids.next(f"invoice-{le.code}")
    if le.system == "netsuite":
        erp_id = str(ids.next(f"ns-tran-{le.connection}", 100001))
        number = f"INV-{le.country}-{n:06d}"
    else:
        number = f"CIV-{le.code.upper()}-{n:06d}"
        erp_id = number
    terms = {20: 30, 28: 30, 30: 30, 35: 30, 45: 45, 60: 60, 75: 60}[pr.client.pay_days]
    inv = Invoice(
        erp_id=erp_id,
        number=number,
        project=pr,
        client=pr.client,
        customer_source_id=customer.source_id,
        le=le,
        issued=issued,
        due=issued.date() + timedelta(days=terms),
        currency=currency,
        lines=lines,
        tax=tax,
        total=round(subtotal + tax, 2),
        psa_invoice_id=str(9900000 + ids.next("psa-invoice")),
        kind=kind,
        faults=faults,
        entries=list(entries),
        expenses=list(expenses),
        milestone=milestone,
        voucher=f"ARI-{le.code.upper()}-{n:06d}",
    )
    for e in entries:
        e.invoice, e.invoiced_at = inv, issued
    for x in expenses:
        x.invoice, x.invoiced_at = inv, issued
    # credit memo
    if rng.random() < 0.03:
        cn = ids.next(f"credit-{le.code}")
        amount = round(inv.total * rng.choice((0.1, 0.25, 0.5, 1.0)), 2)
        cm_id = (
            str(ids.next(f"ns-tran-{le.connection}", 100001))
            if le.system == "netsuite"
            else f"CCN-{le.code.upper()}-{cn:06d}"
        )
        inv.credits.append(
            CreditMemo(
                cm_id,
                f"CN-{le.country}-{cn:06d}" if le.system == "netsuite" else cm_id,
                issued + timedelta(days=rng.uniform(10, 40)),
                amount,
                f"ARC-{le.code.upper()}-{cn:06d}",
            )
        )
    if rng.random() < FAULT_RATES["invoice_disputed_collectible"]:
        inv.disputed_at = issued + timedelta(days=rng.uniform(5, 20))
        inv.faults.add("invoice_disputed_collectible")
    card = pr.client.card_payer
    if card:
        inv.stripe_customer_id = p.stripe_customers.get(pr.client.id)
        inv.stripe_invoice_id = stripe_id(rng, "in_")
    open_amount = round(inv.total - sum(c.amount for c in inv.credits), 2)
    if (
        inv.disputed_at is None
        and open_amount > 0
        and not (pr.client.bad_payer and rng.random() < 0.7)
    ):
        pay_at = issued + timedelta(days=max(1, pr.client.pay_days + rng.gauss(0, 6)))
        parts = [open_amount]
        if rng.random() < 0.05:
            first = round(open_amount * 0.6, 2)
            parts = [first, round(open_amount - first, 2)]
        for i, amount in enumerate(parts):
            when = (pay_at + timedelta(days=30 * i)).replace(microsecond=0)
            pay = Payment(
                erp_id=None, at=when, amount=amount, channel="card" if card else "bank", erp_at=when
            )
            if card:
                pay.stripe_pi = stripe_id(rng, "pi_")
                pay.stripe_charge = stripe_id(rng, "ch_")
                pay.erp_at = when + timedelta(days=rng.uniform(2, 4))
                if rng.random() < FAULT_RATES["stripe_paid_erp_open"]:
                    pay.erp_at = None
                    inv.faults.add("stripe_paid_erp_open")
            if pay.erp_at is not None:
                pay.erp_at = pay.erp_at.replace(microsecond=0)
                pn = ids.next(f"payment-{le.code}")
                if le.system == "netsuite":
                    pay.erp_id = str(ids.next(f"ns-tran-{le.connection}", 100001))
                else:
                    pay.erp_id = f"ARP-{le.code.upper()}-{pn:06d}"
                    pay.voucher = pay.erp_id
                    pay.journal_batch = f"CPJ-{le.code.upper()}-{pay.erp_at:%Y%m%d}"
            inv.payments.append(pay)
    p.invoices.append(inv)
    return inv


# -- CRM opportunities -----------------------------------------------------------------------


def _plan_opportunities(p: Plan, ids: Ids) -> None:
    rng = rng_for(p.seed, "opportunities")
    owners = [e for e in p.employees if e.sf_user_id]
    for pr in p.projects:
        if pr.client is None or pr.erp_only:
            continue
        acct = primary_record(pr.client, "salesforce")
        close = pr.start - timedelta(days=rng.randint(5, 40))
        pr.opportunity_id = make_id("006", ids.next("sf-opp", 1000))
        pr.opportunity_has_code = rng.random() < 0.8
        amount = (
            pr.fee_cents / 100
            if pr.kind == "ff"
            else round(
                (pr.end - pr.start).days / 7 * 40 * rate_card("Consultant", pr.currency) * 2.5, -3
            )
        )
        p.opportunities.append(
            {
                "id": pr.opportunity_id,
                "account": acct.source_id,
                "name": pr.title,
                "stage": "Closed Won",
                "close": close,
                "amount": amount,
                "currency": pr.currency,
                "won": True,
                "closed": True,
                "project": pr,
                "owner": rng.choice(owners).sf_user_id if owners else None,
                # never before the account it belongs to
                "created": max(acct.created, at(close, 10) - timedelta(days=rng.randint(20, 90))),
            }
        )
    for client in p.clients:
        acct = primary_record(client, "salesforce")
        for _ in range(rng.choice((0, 0, 1, 2))):
            close = p.start + timedelta(days=rng.randint(0, (p.horizon - p.start).days))
            stage = rng.choice(
                (
                    "Prospecting",
                    "Qualification",
                    "Proposal/Price Quote",
                    "Negotiation/Review",
                    "Closed Lost",
                )
            )
            p.opportunities.append(
                {
                    "id": make_id("006", ids.next("sf-opp", 1000)),
                    "account": acct.source_id,
                    "name": f"{client.base_name} - {rng.choice(ENGAGEMENTS)}",
                    "stage": stage,
                    "close": close,
                    "amount": round(rng.uniform(50, 900)) * 1000,
                    "currency": client.le.currency,
                    "won": False,
                    "closed": stage == "Closed Lost",
                    "project": None,
                    "owner": rng.choice(owners).sf_user_id if owners else None,
                    "created": max(
                        client.created, at(close, 10) - timedelta(days=rng.randint(20, 120))
                    ),
                }
            )
