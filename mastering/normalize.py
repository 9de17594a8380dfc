"""Normalisation of source client records: names, countries, websites and tax ids.

Pure functions, no warehouse access: the matcher and the tests call them directly.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from cleanco.termdata import terms_by_type

# -- names -------------------------------------------------------------------------------------

# Legal forms cleanco does not list (or lists only in another spelling), normalised like names.
_EXTRA_LEGAL_FORMS = (
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "llc",
    "ltd",
    "limited",
    "plc",
    "pte ltd",
    "pte",
    "private limited",
    "pty ltd",
    "pty",
    "proprietary limited",
    "gmbh",
    "gesellschaft mbh",
    "gesellschaft mit beschrankter haftung",
    "ag",
    "ab",
    "aktiebolag",
    "bv",
    "nv",
    "co",
    "company",
    "lp",
    "llp",
    "sa",
    "sarl",
    "srl",
    "spa",
    "oy",
    "as",
    "aps",
)
# Abbreviations people key in, expanded so that both spellings normalise alike.
ABBREVIATIONS = {
    "intl": "international",
    "int'l": "international",
    "tech": "technologies",
    "ind": "industries",
    "mfg": "manufacturing",
    "fin": "financial",
    "svcs": "services",
    "hldgs": "holdings",
    "hldg": "holdings",
    "sys": "systems",
    "grp": "group",
    "bros": "brothers",
    "mgmt": "management",
}
_PAREN_COUNTRY = re.compile(r"\(\s*([A-Za-z]{2,3})\s*\)\s*$")
_DOTTED = re.compile(r"(?<=\b[a-z])\.(?=[a-z]\b)")


def strip_accents(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return text.replace("ß", "ss").replace("ø", "o").replace("æ", "ae").replace("ł", "l")


def _basic(text: str) -> str:
    """Lower case, no accents, '&' as 'and', punctuation as spaces, single spaces."""
    text = strip_accents(text).lower().replace("&", " and ").replace("+", " and ")
    # collapse dotted abbreviations (g.m.b.h., l.l.c., n.v.) before dropping punctuation
    text = re.sub(r"\b(?:[a-z]\.){2,}[a-z]?\.?", lambda m: m.group(0).replace(".", ""), text)
    text = text.replace("'", "")
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return " ".join(text.split())


@lru_cache(maxsize=1)
def legal_forms() -> tuple[tuple[str, ...], ...]:
    """Every legal-form term (cleanco's reference list plus a seed list), as token tuples,
    longest first."""
    terms = {_basic(t) for ts in terms_by_type.values() for t in ts}
    terms |= {_basic(t) for t in _EXTRA_LEGAL_FORMS}
    # words that are also ordinary name words stay (cleanco lists a few, e.g. 'group')
    terms -= {"", "group", "holdings", "partners", "and co", "et", "nl", "vat"}
    return tuple(sorted((tuple(t.split()) for t in terms), key=len, reverse=True))


def split_legal_form(name: str) -> tuple[str, str | None]:
    """(name without legal-form suffixes, the legal form removed) on a _basic() string."""
    tokens = name.split()
    removed: list[str] = []
    changed = True
    while changed and len(tokens) > 1:
        changed = False
        for form in legal_forms():
            n = len(form)
            if n < len(tokens) and tuple(tokens[-n:]) == form:
                removed = list(form) + removed
                tokens = tokens[:-n]
                changed = True
                break
    return " ".join(tokens), (" ".join(removed) or None)


# spellings of one legal form -> its class; two different classes are two legal entities
_FORM_CLASSES = {
    "inc": "inc",
    "incorporated": "inc",
    "corp": "corp",
    "corporation": "corp",
    "llc": "llc",
    "ltd": "ltd",
    "limited": "ltd",
    "plc": "plc",
    "pte ltd": "pte ltd",
    "pte": "pte ltd",
    "private limited": "pte ltd",
    "pty ltd": "pty ltd",
    "pty": "pty ltd",
    "proprietary limited": "pty ltd",
    "gmbh": "gmbh",
    "gesellschaft mbh": "gmbh",
    "gesellschaft mit beschrankter haftung": "gmbh",
    "ag": "ag",
    "ab": "ab",
    "aktiebolag": "ab",
    "bv": "bv",
    "nv": "nv",
    "llp": "llp",
    "lp": "lp",
    "sa": "sa",
    "sarl": "sarl",
    "srl": "srl",
    "spa": "spa",
    "oy": "oy",
}


def legal_form_class(name: str | None) -> str | None:
    """The class of the legal form a name states ('Acme G.m.b.H.' -> 'gmbh'), if any."""
    if not name:
        return None
    _, form = split_legal_form(_basic(_PAREN_COUNTRY.sub("", name)))
    if not form:
        return None
    return _FORM_CLASSES.get(form, form)


def name_country_marker(name: str | None) -> str | None:
    """A trailing '(GB)' some users append to a client's name: the country it states."""
    if not name:
        return None
    m = _PAREN_COUNTRY.search(name)
    return country_code(m.group(1)) if m else None


def normalize_name(name: str | None) -> str:
    """The comparable form of a company name: no legal form, case, accents, punctuation,
    '&'/'and' or abbreviation differences."""
    if not name:
        return ""
    name = _PAREN_COUNTRY.sub("", name)
    base, _ = split_legal_form(_basic(name))
    tokens = [ABBREVIATIONS.get(t, t) for t in base.split()]
    return " ".join(tokens)


# -- countries ---------------------------------------------------------------------------------

# ISO 3166-1 alpha-2 with alpha-3 and the names (English and local) people write.
_COUNTRIES: dict[str, tuple[str, ...]] = {
    "US": ("USA", "United States", "United States of America", "US of A", "America", "U S A"),
    "CA": ("CAN", "Canada"),
    "GB": (
        "GBR",
        "United Kingdom",
        "UK",
        "Great Britain",
        "England",
        "Scotland",
        "Wales",
        "Northern Ireland",
        "U K",
    ),
    "IE": ("IRL", "Ireland", "Eire"),
    "DE": ("DEU", "Germany", "Deutschland"),
    "AT": ("AUT", "Austria", "Osterreich"),
    "CH": ("CHE", "Switzerland", "Schweiz", "Suisse", "Svizzera"),
    "FR": ("FRA", "France"),
    "BE": ("BEL", "Belgium", "Belgique", "Belgie"),
    "LU": ("LUX", "Luxembourg"),
    "NL": ("NLD", "Netherlands", "The Netherlands", "Holland", "Nederland"),
    "DK": ("DNK", "Denmark", "Danmark"),
    "SE": ("SWE", "Sweden", "Sverige"),
    "NO": ("NOR", "Norway", "Norge"),
    "FI": ("FIN", "Finland", "Suomi"),
    "IS": ("ISL", "Iceland"),
    "ES": ("ESP", "Spain", "Espana"),
    "PT": ("PRT", "Portugal"),
    "IT": ("ITA", "Italy", "Italia"),
    "GR": ("GRC", "Greece", "EL"),
    "PL": ("POL", "Poland", "Polska"),
    "CZ": ("CZE", "Czech Republic", "Czechia"),
    "SK": ("SVK", "Slovakia"),
    "HU": ("HUN", "Hungary"),
    "RO": ("ROU", "Romania"),
    "BG": ("BGR", "Bulgaria"),
    "HR": ("HRV", "Croatia"),
    "SI": ("SVN", "Slovenia"),
    "EE": ("EST", "Estonia"),
    "LV": ("LVA", "Latvia"),
    "LT": ("LTU", "Lithuania"),
    "CY": ("CYP", "Cyprus"),
    "MT": ("MLT", "Malta"),
    "SG": ("SGP", "Singapore"),
    "AU": ("AUS", "Australia"),
    "NZ": ("NZL", "New Zealand"),
    "JP": ("JPN", "Japan"),
    "CN": ("CHN", "China", "People's Republic of China"),
    "HK": ("HKG", "Hong Kong"),
    "IN": ("IND", "India"),
    "KR": ("KOR", "South Korea", "Korea"),
    "MY": ("MYS", "Malaysia"),
    "ID": ("IDN", "Indonesia"),
    "TH": ("THA", "Thailand"),
    "PH": ("PHL", "Philippines"),
    "VN": ("VNM", "Vietnam", "Viet Nam"),
    "AE": ("ARE", "United Arab Emirates", "UAE"),
    "SA": ("SAU", "Saudi Arabia"),
    "IL": ("ISR", "Israel"),
    "ZA": ("ZAF", "South Africa"),
    "BR": ("BRA", "Brazil", "Brasil"),
    "MX": ("MEX", "Mexico"),
    "AR": ("ARG", "Argentina"),
    "CL": ("CHL", "Chile"),
    "CO": ("COL", "Colombia"),
}
_COUNTRY_LOOKUP: dict[str, str] = {}
for _code, _names in _COUNTRIES.items():
    _COUNTRY_LOOKUP[_code.lower()] = _code
    for _n in _names:
        _COUNTRY_LOOKUP[_basic(_n)] = _code
_COUNTRY_LOOKUP["uk"] = "GB"  # not ISO, but what everyone writes
_COUNTRY_LOOKUP["el"] = "GR"  # EU VAT prefix for Greece


def country_code(value: str | None) -> str | None:
    """ISO 3166-1 alpha-2 of a country written as a code (alpha-2 or alpha-3) or a name."""
    if not value or not value.strip():
        return None
    return _COUNTRY_LOOKUP.get(_basic(value))


# -- websites and e-mail domains -----------------------------------------------------------------

# second-level public suffixes (a registered domain is one label more)
_SECOND_LEVEL = {
    "co.uk",
    "org.uk",
    "ac.uk",
    "gov.uk",
    "ltd.uk",
    "plc.uk",
    "me.uk",
    "com.au",
    "net.au",
    "org.au",
    "com.sg",
    "edu.sg",
    "org.sg",
    "co.nz",
    "org.nz",
    "co.jp",
    "ne.jp",
    "or.jp",
    "com.br",
    "com.mx",
    "com.cn",
    "com.hk",
    "co.in",
    "co.za",
    "com.my",
    "co.id",
    "co.th",
    "com.ph",
    "com.vn",
    "co.kr",
    "com.ar",
    "com.tr",
    "co.il",
    "com.sa",
    "ae.org",
    "gc.ca",
}
FREE_MAIL = {
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "yahoo.com",
    "icloud.com",
    "me.com",
    "aol.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "proton.me",
    "protonmail.com",
    "mail.com",
}


def registered_domain(value: str | None) -> str | None:
    """The registered domain of a website or host ('https://www.x.co.uk/about' -> 'x.co.uk')."""
    if not value or not value.strip():
        return None
    host = value.strip().lower()
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", host)
    host = host.split("/")[0].split("?")[0].split("#")[0]
    host = host.rsplit("@", 1)[-1].split(":")[0].strip(".")
    labels = [label for label in host.split(".") if label]
    if len(labels) < 2 or not all(re.fullmatch(r"[a-z0-9-]+", x) for x in labels):
        return None
    keep = 3 if ".".join(labels[-2:]) in _SECOND_LEVEL and len(labels) >= 3 else 2
    return ".".join(labels[-keep:])


def email_domain(value: str | None) -> str | None:
    """The registered domain of an e-mail address, unless it is a free-mail provider."""
    if not value or "@" not in value:
        return None
    domain = registered_domain(value.split("@", 1)[1])
    return None if domain in FREE_MAIL else domain


# -- tax ids -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaxId:
    raw: str
    country: str | None  # ISO 3166-1 alpha-2 of the issuing country
    scheme: str | None  # python-stdnum module, e.g. 'gb.vat', 'us.ein'
    compact: str | None  # compact form (VAT numbers with their country prefix)
    is_valid: bool

    @property
    def key(self) -> str | None:
        """'GB:GB123456789': the value two records must share to be the same legal entity."""
        return f"{self.country}:{self.compact}" if self.is_valid else None


# country -> python-stdnum scheme for its business registration / VAT number
_SCHEMES = {
    "US": "us.ein",
    "CA": "ca.bn",
    "GB": "gb.vat",
    "AU": "au.abn",
    "SG": "sg.uen",
    "NZ": "nz.ird",
    "IN": "in_.gstin",
    "CH": "ch.vat",
    "NO": "no.mva",
    "JP": "jp.cn",
    "BR": "br.cnpj",
    "MX": "mx.rfc",
    "ZA": "za.tin",
    "IS": "is_.vsk",
}
_EU = {
    "AT",
    "BE",
    "BG",
    "CY",
    "CZ",
    "DE",
    "DK",
    "EE",
    "ES",
    "FI",
    "FR",
    "GR",
    "HR",
    "HU",
    "IE",
    "IT",
    "LT",
    "LU",
    "LV",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SE",
    "SI",
    "SK",
}
_VAT_PREFIX = {"GR": "EL"}


@lru_cache(maxsize=64)
def _module(scheme: str):
    import importlib

    return importlib.import_module(f"stdnum.{scheme}")


def parse_tax_id(raw: str | None, country: str | None) -> TaxId | None:
    """Compact and validate a tax id with python-stdnum under the scheme of its country (taken
    from a VAT prefix when it carries one, else the record's country)."""
    if raw is None or not str(raw).strip():
        return None
    raw = str(raw).strip()
    cleaned = re.sub(r"[\s.\-/]", "", raw).upper()
    prefix = cleaned[:2] if cleaned[:2].isalpha() else ""
    prefix_country = {"EL": "GR"}.get(prefix, prefix)
    if prefix_country in _EU or prefix_country == "GB":
        country = prefix_country
    if not country:
        return TaxId(raw, None, None, None, False)
    if country in _EU:
        scheme = "eu.vat"
        vat_prefix = _VAT_PREFIX.get(country, country)
        value = cleaned if prefix else vat_prefix + cleaned
    elif country in _SCHEMES:
        scheme = _SCHEMES[country]
        value = cleaned
    else:
        return TaxId(raw, country, None, cleaned, False)
    module = _module(scheme)
    try:
        compact = module.compact(value)
        valid = bool(module.is_valid(value))
    except Exception:  # noqa: BLE001 - stdnum raises per-scheme errors on garbage
        compact, valid = cleaned, False
    if scheme == "gb.vat" and valid and not compact.startswith("GB"):
        compact = "GB" + compact
    return TaxId(raw, country, scheme, compact, valid)
