"""The simulated firm's business, planned as timelines.

``plan(seed, scale)`` builds the whole business from the scale's start date to a horizon past
the dataset clock: clients, employees, projects, every time entry, expense, invoice, credit
memo and payment, each with the moments its state changes. ``render.py`` projects this plan
onto the five systems as of any moment, so generating a dataset and advancing its clock are the
same operation at two moments, and the result depends only on seed, scale and moment.

Randomness comes from one ``random.Random`` per concern, seeded from (seed, concern), so adding
a concern does not shift the others.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from stdnum import get_cc_module

# --------------------------------------------------------------------------------------------
# Reference data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LegalEntity:
    code: str
    name: str
    country: str  # ISO 3166-1 alpha-2
    country3: str
    currency: str
    system: str  # "netsuite" | "dynamics"
    connection: str
    vat_rate: float
    allowed_currencies: tuple[str, ...]
    holidays: tuple[tuple[int, int], ...]  # (month, day)
    weekly_hours: float = 40.0


LEGAL_ENTITIES: tuple[LegalEntity, ...] = (
    LegalEntity(
        "us01",
        "Conform Consulting Inc.",
        "US",
        "USA",
        "USD",
        "dynamics",
        "na",
        0.0,
        ("USD",),
        ((1, 1), (5, 26), (7, 4), (9, 1), (11, 26), (12, 25)),
    ),
    LegalEntity(
        "ca01",
        "Conform Consulting Canada Ltd.",
        "CA",
        "CAN",
        "CAD",
        "dynamics",
        "na",
        0.05,
        ("CAD", "USD"),
        ((1, 1), (7, 1), (9, 1), (10, 13), (12, 25), (12, 26)),
    ),
    LegalEntity(
        "gb01",
        "Conform Consulting UK Ltd",
        "GB",
        "GBR",
        "GBP",
        "dynamics",
        "emea",
        0.20,
        ("GBP", "EUR", "USD"),
        ((1, 1), (5, 5), (8, 25), (12, 25), (12, 26)),
    ),
    LegalEntity(
        "de01",
        "Conform Consulting GmbH",
        "DE",
        "DEU",
        "EUR",
        "dynamics",
        "emea",
        0.19,
        ("EUR",),
        ((1, 1), (5, 1), (10, 3), (12, 25), (12, 26)),
        38.0,
    ),
    LegalEntity(
        "sg01",
        "Conform Consulting Pte. Ltd.",
        "SG",
        "SGP",
        "SGD",
        "netsuite",
        "apac",
        0.09,
        ("SGD", "USD"),
        ((1, 1), (5, 1), (8, 9), (12, 25)),
    ),
    LegalEntity(
        "au01",
        "Conform Consulting Pty Ltd",
        "AU",
        "AUS",
        "AUD",
        "netsuite",
        "apac",
        0.10,
        ("AUD",),
        ((1, 1), (1, 26), (4, 25), (12, 25), (12, 26)),
        38.0,
    ),
    LegalEntity(
        "nl01",
        "Conform Consulting B.V.",
        "NL",
        "NLD",
        "EUR",
        "netsuite",
        "europe",
        0.21,
        ("EUR",),
        ((1, 1), (4, 27), (12, 25), (12, 26)),
    ),
    LegalEntity(
        "se01",
        "Conform Consulting AB",
        "SE",
        "SWE",
        "SEK",
        "netsuite",
        "europe",
        0.25,
        ("SEK", "EUR"),
        ((1, 1), (1, 6), (6, 6), (12, 24), (12, 25), (12, 26)),
    ),
)
LE_BY_CODE = {le.code: le for le in LEGAL_ENTITIES}
LE_BY_COUNTRY = {le.country: le for le in LEGAL_ENTITIES}

# Units of currency per 1 USD at the start; a seeded daily random walk moves them.
FX_BASE = {"USD": 1.0, "CAD": 1.37, "GBP": 0.79, "EUR": 0.92, "SGD": 1.34, "AUD": 1.52, "SEK": 10.6}
# Used by one injected fault only: no system holds a rate for it.
UNRATED_CURRENCY = "CHF"

COUNTRY_NAMES = {
    "US": ("United States", "USA", "United States of America"),
    "CA": ("Canada",),
    "GB": ("United Kingdom", "UK", "Great Britain"),
    "DE": ("Germany", "Deutschland"),
    "SG": ("Singapore",),
    "AU": ("Australia",),
    "NL": ("Netherlands", "The Netherlands", "Holland"),
    "SE": ("Sweden", "Sverige"),
}
COUNTRY_WEIGHTS = {"US": 30, "GB": 15, "DE": 12, "CA": 8, "SG": 10, "AU": 10, "NL": 8, "SE": 7}
TLD = {
    "US": "com",
    "CA": "ca",
    "GB": "co.uk",
    "DE": "de",
    "SG": "com.sg",
    "AU": "com.au",
    "NL": "nl",
    "SE": "se",
}
CITIES = {
    "US": ("New York", "Chicago", "Austin", "Boston", "Seattle", "Atlanta"),
    "CA": ("Toronto", "Vancouver", "Montréal", "Calgary"),
    "GB": ("London", "Manchester", "Leeds", "Edinburgh", "Bristol"),
    "DE": ("München", "Berlin", "Hamburg", "Frankfurt am Main", "Köln", "Düsseldorf"),
    "SG": ("Singapore",),
    "AU": ("Sydney", "Melbourne", "Brisbane", "Perth"),
    "NL": ("Amsterdam", "Rotterdam", "Utrecht", "Eindhoven"),
    "SE": ("Stockholm", "Göteborg", "Malmö", "Uppsala"),
}
STREETS = (
    "Market Street",
    "High Street",
    "Hauptstraße",
    "Station Road",
    "Harbour Road",
    "King Street",
    "Queen Street",
    "Kungsgatan",
    "Keizersgracht",
    "Collins Street",
)
# Legal forms per country, as registered and as people abbreviate them.
LEGAL_FORMS = {
    "US": (("Inc.", "Inc", "Incorporated"), ("LLC", "L.L.C."), ("Corp.", "Corporation")),
    "CA": (("Inc.", "Inc"), ("Ltd.", "Limited")),
    "GB": (("Ltd", "Limited", "Ltd."), ("PLC", "plc")),
    "DE": (("GmbH", "G.m.b.H.", "Gesellschaft mbH"), ("AG",)),
    "SG": (("Pte. Ltd.", "Pte Ltd", "Private Limited"),),
    "AU": (("Pty Ltd", "Pty. Ltd.", "Proprietary Limited"),),
    "NL": (("B.V.", "BV"), ("N.V.", "NV")),
    "SE": (("AB", "Aktiebolag"),),
}
SUBSIDIARY_WORD = {
    "US": "USA",
    "CA": "Canada",
    "GB": "UK",
    "DE": "Deutschland",
    "SG": "Asia",
    "AU": "Australia",
    "NL": "Nederland",
    "SE": "Sverige",
}
NAME_HEADS = (
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Adatum",
    "Tailspin",
    "Wingtip",
    "Litware",
    "Proseware",
    "Lucerne",
    "Margie",
    "Alpine",
    "Blue Harbor",
    "Cedar Ridge",
    "Silverpeak",
    "Brightline",
    "Aster",
    "Granite",
    "Ironwood",
    "Juniper",
    "Kestrel",
    "Lakeshore",
    "Meridian",
    "Nimbus",
    "Orchid",
    "Pinnacle",
    "Quartz",
    "Redwood",
    "Sapphire",
    "Trident",
    "Umbra",
    "Vantage",
    "Willow",
    "Zenith",
    "Atlas",
    "Beacon",
    "Cobalt",
    "Delta",
    "Evergreen",
    "Falcon",
    "Harbor",
    "Horizon",
    "Keystone",
    "Liberty",
    "Magnolia",
    "Nova",
    "Oakridge",
    "Pioneer",
    "Summit",
    "Müller",
    "Schröder",
    "Nordström",
    "Lindqvist",
    "Åkerlund",
    "Van der Berg",
    "De Vries",
    "Bäcker",
    "Köhler",
    "Jørgensen",
    "Renée",
    "Léon",
    "Zoë",
    "O'Brien",
    "McAllister",
    "Fitzgerald",
    "Hargreaves",
    "Whitfield",
    "Ashworth",
    "Pemberton",
    "Kowalski",
    "Tanaka",
    "Nakamura",
    "Lim",
    "Tan",
    "Wong",
    "Khoo",
    "Singh",
    "Patel",
    "Okafor",
    "Haddad",
    "Rossi",
    "Bianchi",
    "Moreau",
    "Dubois",
    "Lefèvre",
    "García",
    "Fernández",
    "Silva",
    "Costa",
    "Andersson",
    "Johansson",
    "Eriksson",
    "Larsen",
    "Hansen",
    "Bakker",
    "Visser",
    "Smit",
    "Greenfield",
    "Stonebridge",
    "Clearwater",
    "Highgate",
    "Riverside",
    "Westbrook",
    "Eastgate",
    "Northgate",
    "Southport",
    "Fairview",
    "Goldcrest",
    "Bluewater",
    "Redstone",
)
NAME_TAILS = (
    "Analytics",
    "Logistics",
    "Pharma",
    "Foods",
    "Capital",
    "Energy",
    "Retail",
    "Systems",
    "Health",
    "Motors",
    "Insurance",
    "Media",
    "Holdings",
    "Industries",
    "Technologies",
    "Partners",
    "Group",
    "Manufacturing",
    "Telecom",
    "Bank",
    "Realty",
    "Airlines",
    "Chemicals",
    "Software",
    "Biotech",
    "Shipping",
    "Construction",
    "Foods & Beverages",
    "Mining",
    "Textiles",
    "Electronics",
    "Consumer Goods",
    "Financial Services",
    "Utilities",
    "Hotels",
    "Publishing",
    "Semiconductors",
    "Robotics",
    "Agritech",
    "Medical Devices",
)
ABBREVIATIONS = {
    "International": "Intl",
    "Technologies": "Tech",
    "Industries": "Ind.",
    "Manufacturing": "Mfg",
    "Financial Services": "Fin. Services",
    "Holdings": "Hldgs",
    "Corporation": "Corp",
    "Systems": "Sys",
}
INDUSTRIES = (
    "Technology",
    "Financial Services",
    "Healthcare",
    "Manufacturing",
    "Retail",
    "Energy",
    "Media",
    "Transportation",
    "Consumer Goods",
    "Public Sector",
)

PRACTICES = (
    ("STR", "Strategy"),
    ("TEC", "Technology"),
    ("FIN", "Finance Transformation"),
    ("DAT", "Data & Analytics"),
    ("OPS", "Operations"),
)
# role: (bill rate USD/h, cost rate USD/h, target billable utilisation)
ROLES = {
    "Analyst": (150, 55, 0.80),
    "Consultant": (200, 70, 0.78),
    "Senior Consultant": (260, 90, 0.75),
    "Manager": (320, 115, 0.68),
    "Senior Manager": (390, 140, 0.58),
    "Partner": (520, 210, 0.40),
}
ROLE_WEIGHTS = {
    "Analyst": 22,
    "Consultant": 28,
    "Senior Consultant": 22,
    "Manager": 14,
    "Senior Manager": 8,
    "Partner": 6,
}
FIRST_NAMES = (
    "Anna",
    "Ben",
    "Chloé",
    "David",
    "Elif",
    "Finn",
    "Grace",
    "Hannah",
    "Isak",
    "Jonas",
    "Kai",
    "Lena",
    "Mateo",
    "Nora",
    "Oliver",
    "Priya",
    "Quinn",
    "Ravi",
    "Sofia",
    "Tom",
    "Uma",
    "Viktor",
    "Wei",
    "Xin",
    "Yusuf",
    "Zara",
    "Aiden",
    "Björn",
    "Carmen",
    "Dmitri",
    "Emma",
    "Felix",
    "Greta",
    "Hugo",
    "Ines",
    "Jae",
    "Karin",
    "Liam",
    "Mia",
    "Noah",
    "Olga",
    "Pablo",
    "Rosa",
    "Sven",
    "Tara",
)
LAST_NAMES = (
    "Smith",
    "Jones",
    "Müller",
    "Schmidt",
    "Tan",
    "Lim",
    "Nguyen",
    "Brown",
    "Wilson",
    "Taylor",
    "de Jong",
    "Jansen",
    "Andersson",
    "Nilsson",
    "Martin",
    "Roy",
    "Wong",
    "Chen",
    "Kumar",
    "Sharma",
    "O'Neill",
    "Murphy",
    "Walsh",
    "Fischer",
    "Weber",
    "Becker",
    "Hoffmann",
    "Lee",
    "Park",
    "Kim",
    "Ito",
    "Sato",
    "Rossi",
    "Russo",
    "Garcia",
    "Lopez",
    "Dubois",
    "Laurent",
    "Berg",
    "Dahl",
    "Lund",
    "Moore",
    "Clark",
)
ENGAGEMENTS = (
    "Data Platform Assessment",
    "ERP Implementation",
    "Cost Transformation",
    "Cloud Migration",
    "Operating Model Design",
    "Finance Close Acceleration",
    "Customer Analytics",
    "Supply Chain Optimisation",
    "Cyber Readiness Review",
    "Post-Merger Integration",
    "Digital Strategy",
    "Pricing Excellence",
    "Procurement Savings",
    "Regulatory Reporting",
    "Workforce Planning",
)
EXPENSE_CATEGORIES = (
    ("Travel", 180, 900),
    ("Lodging", 150, 450),
    ("Meals", 20, 120),
    ("Mileage", 15, 90),
)


@dataclass(frozen=True)
class Scale:
    clients: int
    employees: int
    months: int
    prospects: float = 0.2


SCALES = {
    "tiny": Scale(clients=24, employees=16, months=3),
    "small": Scale(clients=80, employees=50, months=6),
    "demo": Scale(clients=300, employees=150, months=12),
    "large": Scale(clients=3000, employees=1100, months=24),
}
DATASET_END = date(2026, 10, 31)
CLOCK_TIME = time(18, 0)
HORIZON_DAYS = 92
FX_LOOKBACK_DAYS = 200  # rates exist from before the first invoice the plan can issue

# --------------------------------------------------------------------------------------------
# Fault rates: how often each process fault the generator injects occurs (truth/faults.csv)
# --------------------------------------------------------------------------------------------
FAULT_RATES = {
    "duplicate_in_crm": 0.05,
    "duplicate_in_psa": 0.03,
    "duplicate_in_erp": 0.015,
    "customer_missing_in_erp": 0.02,
    "tax_id_invalid": 0.03,
    "tax_id_conflict": 0.02,
    "psa_project_without_erp": 0.03,
    "erp_project_without_psa": 0.02,
    "project_missing_cost_center": 0.04,
    "project_missing_billing_method": 0.03,
    "psa_active_erp_closed": 0.03,
    "time_not_posted": 0.01,
    "invoice_disputed_collectible": 0.02,
    "stripe_paid_erp_open": 0.04,
    "invoice_currency_not_allowed": 0.01,
}


# --------------------------------------------------------------------------------------------
# The plan's objects
# --------------------------------------------------------------------------------------------


@dataclass
class Client:
    id: str  # true id, e.g. C00042
    n: int
    legal_name: str
    base_name: str
    legal_form: tuple[str, ...]
    country: str
    tax_id: str  # valid, compact with country prefix where the scheme has one
    tax_scheme: str
    domain: str
    city: str
    street: str
    postal_code: str
    phone: str
    industry: str
    parent: Client | None
    le: LegalEntity
    created: datetime
    is_prospect: bool = False
    card_payer: bool = False
    pay_days: int = 30
    bad_payer: bool = False
    faults: set[str] = field(default_factory=set)
    # per-system presence, filled by the planner
    records: list[SourceClient] = field(default_factory=list)


@dataclass
class SourceClient:
    """One record of a client in one system (several when the system holds duplicates)."""

    system: str
    connection: str
    obj: str
    source_id: str
    client: Client
    name: str
    tax_id: str | None
    country_value: str | None
    website: str | None
    created: datetime
    is_duplicate: bool = False
    deleted_at: datetime | None = None
    parent_source_id: str | None = None
    erp_number_hint: str | None = None  # a link a source already holds (CRM → ERP number)
    extra: dict = field(default_factory=dict)


@dataclass
class Employee:
    id: str  # true id E0001
    n: int
    first: str
    last: str
    email: str
    le: LegalEntity
    practice: tuple[str, str]
    role: str
    weekly_hours: float
    target_util: float
    hired: date
    left: date | None
    psa_user_id: str
    psa_membership_id: str
    erp_id: str
    sf_user_id: str | None
    leave_days: set[date] = field(default_factory=set)


@dataclass
class Milestone:
    story_id: str
    title: str
    due: date
    amount_cents: int
    completed_at: datetime | None


@dataclass
class Project:
    id: str  # true id P00001
    n: int
    client: Client | None
    le: LegalEntity
    kind: str  # "tm" | "ff" | "internal"
    title: str
    practice: tuple[str, str]
    start: date
    end: date
    currency: str
    discount: float
    psa_id: str
    psa_code: str
    created: datetime
    completed_at: datetime | None  # PSA status completed / archived
    erp_id: str | None  # ERP internal id (NetSuite job id) or ProjectID (D365)
    erp_code: str | None  # NetSuite entityid / D365 ProjectID
    erp_created: datetime | None
    erp_closed_at: datetime | None
    cost_center: str | None
    psa_billing_method: str | None
    psa_erp_id_value: str | None  # what the PSA's "ERP Project ID" field shows
    erp_only: bool = False
    fee_cents: int = 0
    milestones: list[Milestone] = field(default_factory=list)
    phase_story_id: str = ""
    opportunity_id: str | None = None
    opportunity_has_code: bool = False
    faults: set[str] = field(default_factory=set)
    staffing: list[Employee] = field(default_factory=list)


@dataclass(slots=True)
class TimeEntry:
    id: str
    project: Project
    employee: Employee
    day: date
    minutes: int
    billable: bool
    rate_cents: int
    cost_cents: int
    story_id: str
    created: datetime
    approved_at: datetime | None
    posted_at: datetime | None
    erp_id: str | None
    invoice: Invoice | None = None
    invoiced_at: datetime | None = None
    notes: str = ""


@dataclass(slots=True)
class Expense:
    id: str
    project: Project
    employee: Employee
    day: date
    category: str
    amount_cents: int
    billable: bool
    created: datetime
    invoice: Invoice | None = None
    invoiced_at: datetime | None = None


@dataclass
class Line:
    item: str
    description: str
    quantity: float
    rate: float
    amount: float


@dataclass
class CreditMemo:
    erp_id: str
    number: str
    at: datetime
    amount: float
    voucher: str


@dataclass
class Payment:
    erp_id: str | None  # ERP payment id (None when the ERP never recorded it)
    at: datetime  # when the money arrived (card: the charge; bank: the ERP receipt)
    amount: float
    channel: str  # "card" | "bank"
    erp_at: datetime | None  # when the ERP recorded it
    stripe_pi: str | None = None
    stripe_charge: str | None = None
    voucher: str | None = None
    journal_batch: str | None = None


@dataclass
class Invoice:
    erp_id: str
    number: str
    project: Project
    client: Client
    customer_source_id: str
    le: LegalEntity
    issued: datetime
    due: date
    currency: str
    lines: list[Line]
    tax: float
    total: float
    psa_invoice_id: str
    kind: str  # "tm" | "milestone"
    disputed_at: datetime | None = None
    credits: list[CreditMemo] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    stripe_invoice_id: str | None = None
    stripe_customer_id: str | None = None
    voucher: str = ""
    faults: set[str] = field(default_factory=set)
    entries: list[TimeEntry] = field(default_factory=list)
    expenses: list[Expense] = field(default_factory=list)
    milestone: Milestone | None = None


@dataclass
class Plan:
    seed: int
    scale_name: str
    scale: Scale
    start: date
    end: date  # dataset clock date
    horizon: date
    clients: list[Client]
    employees: list[Employee]
    projects: list[Project]
    entries: list[TimeEntry]
    expenses: list[Expense]
    invoices: list[Invoice]
    fx: dict[str, dict[date, float]]  # currency -> day -> units per USD
    deletions: list[SourceClient]
    holidays: dict[str, set[date]]
    opportunities: list[dict]
    stripe_customers: dict[str, str]  # client id -> cus_ id

    @property
    def clock(self) -> datetime:
        return datetime.combine(self.end, CLOCK_TIME, UTC)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def rng_for(seed: int, concern: str) -> random.Random:
    return random.Random(f"{seed}/{concern}")


def at(day: date, hour: float) -> datetime:
    return datetime.combine(day, time(0), UTC) + timedelta(hours=hour)


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    y, m = divmod(day.month - 1 + months, 12)
    return date(day.year + y, m + 1, 1)


def month_end(day: date) -> date:
    return add_months(day, 1) - timedelta(days=1)


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def business_days(start: date, end: date) -> list[date]:
    out, d = [], start
    while d <= end:
        if d.weekday() < 5:
            out.append(d)
        d += timedelta(days=1)
    return out


def fx_rate(plan: Plan, currency: str, day: date) -> float:
    """Units of ``currency`` per USD on ``day`` (the last quoted rate on or before it)."""
    series = plan.fx[currency]
    while day not in series:
        day -= timedelta(days=1)
    return series[day]


def convert(plan: Plan, amount: float, from_ccy: str, to_ccy: str, day: date) -> float:
    if from_ccy == to_ccy:
        return amount
    return amount / fx_rate(plan, from_ccy, day) * fx_rate(plan, to_ccy, day)


# -- tax ids ---------------------------------------------------------------------------------

_TAX_SCHEMES = {
    "US": ("us", "ein"),
    "CA": ("ca", "bn"),
    "GB": ("gb", "vat"),
    "DE": ("de", "vat"),
    "SG": ("sg", "uen"),
    "AU": ("au", "abn"),
    "NL": ("nl", "btw"),
    "SE": ("se", "vat"),
}
_EIN_PREFIXES = (
    "10",
    "12",
    "20",
    "27",
    "30",
    "45",
    "46",
    "51",
    "52",
    "54",
    "81",
    "84",
    "86",
    "87",
    "88",
    "91",
    "92",
    "93",
    "94",
    "95",
    "98",
)


def _tax_candidate(rng: random.Random, country: str, created_year: int) -> str:
    digits = lambda n: "".join(rng.choice("0123456789") for _ in range(n))  # noqa: E731
    if country == "US":
        return rng.choice(_EIN_PREFIXES) + "-" + digits(7)
    if country == "CA":
        return str(rng.randint(1, 9)) + digits(8)
    if country == "GB":
        return "GB" + str(rng.randint(1, 9)) + digits(8)
    if country == "DE":
        return "DE" + str(rng.randint(1, 9)) + digits(8)
    if country == "SG":
        year = rng.randint(1990, min(created_year, 2024))
        return f"{year}{digits(5)}" + rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ")
    if country == "AU":
        return str(rng.randint(1, 9)) + digits(10)
    if country == "NL":
        return "NL" + str(rng.randint(1, 9)) + digits(8) + "B01"
    if country == "SE":
        return "SE" + str(rng.randint(1, 9)) + digits(9) + "01"
    raise ValueError(country)


def tax_module(country: str):
    cc, name = _TAX_SCHEMES[country]
    return get_cc_module(cc, name)


def valid_tax_id(rng: random.Random, country: str, year: int = 2024) -> str:
    module = tax_module(country)
    for _ in range(20000):
        candidate = _tax_candidate(rng, country, year)
        if module.is_valid(candidate):
            return candidate
    raise RuntimeError(f"could not draw a valid {country} tax id")


def invalid_tax_id(rng: random.Random, tax_id: str, country: str) -> str:
    """The same id with one digit mistyped so that its check fails."""
    module = tax_module(country)
    chars = list(tax_id)
    positions = [i for i, c in enumerate(chars) if c.isdigit()]
    for _ in range(200):
        i = rng.choice(positions)
        chars2 = chars.copy()
        chars2[i] = str((int(chars2[i]) + rng.randint(1, 9)) % 10)
        candidate = "".join(chars2)
        if not module.is_valid(candidate):
            return candidate
    return tax_id[:-1]


def tax_scheme_name(country: str) -> str:
    cc, name = _TAX_SCHEMES[country]
    return f"{cc}.{name}"


def format_tax_id(rng: random.Random, tax_id: str, country: str) -> str:
    """The way people key a tax id in: spaces, lower case, prefix dropped, dashes."""
    style = rng.random()
    compact = tax_id.replace("-", "")
    prefix = compact[:2] if compact[:2].isalpha() else ""
    body = compact[len(prefix) :]
    if style < 0.55:
        return tax_id
    if style < 0.7 and prefix:
        return body
    if style < 0.85:
        groups = [body[i : i + 3] for i in range(0, len(body), 3)]
        return (prefix + " " if prefix else "") + " ".join(groups)
    if style < 0.93:
        return (prefix + compact[len(prefix) :]).lower()
    return (prefix + "-" if prefix else "") + body
