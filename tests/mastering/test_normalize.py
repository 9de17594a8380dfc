"""Normalisation and tax-id validation (no warehouse)."""

from __future__ import annotations

import pytest

from mastering.matching import compare, to_record
from mastering.normalize import (
    country_code,
    email_domain,
    legal_form_class,
    name_country_marker,
    normalize_name,
    parse_tax_id,
    registered_domain,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Van der Berg Robotics Deutschland G.m.b.H.", "van der berg robotics deutschland"),
        ("Ironwood Holdings, AB", "ironwood holdings"),
        ("Silva Insurance Proprietary Limited", "silva insurance"),
        ("Cobalt Textiles Asia Pte. Ltd.", "cobalt textiles asia"),
        ("SCHRÖDER SEMICONDUCTORS, INCORPORATED", "schroder semiconductors"),
        ("Silva Foods & Beverages", "silva foods and beverages"),
        ("Silva Foods and Beverages B.V.", "silva foods and beverages"),
        ("Acme Hldgs Intl L.L.C.", "acme holdings international"),
        ("Acme Tech (GB)", "acme technologies"),
        ("  acme   group  plc ", "acme group"),
        ("Müller Gesellschaft mbH", "muller"),
    ],
)
def test_names_normalise(raw: str, expected: str) -> None:
    assert normalize_name(raw) == expected


def test_legal_form_classes_and_country_marker() -> None:
    assert legal_form_class("Acme G.m.b.H.") == legal_form_class("Acme Gesellschaft mbH") == "gmbh"
    assert legal_form_class("Acme AG") == "ag"
    assert legal_form_class("Acme Incorporated") == legal_form_class("Acme Inc.") == "inc"
    assert legal_form_class("Acme") is None
    assert name_country_marker("Acme Ltd (GB)") == "GB"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Deutschland", "DE"),
        ("DEU", "DE"),
        ("UK", "GB"),
        ("United Kingdom", "GB"),
        ("USA", "US"),
        ("United States of America", "US"),
        ("us", "US"),
        ("The Netherlands", "NL"),
        ("Holland", "NL"),
        ("Sverige", "SE"),
        ("Singapore", "SG"),
        ("AUS", "AU"),
        ("", None),
        ("Atlantis", None),
    ],
)
def test_countries_to_iso_alpha2(raw: str, expected: str | None) -> None:
    assert country_code(raw) == expected


def test_websites_to_registered_domain() -> None:
    assert registered_domain("https://www.acme.co.uk/about?x=1") == "acme.co.uk"
    assert registered_domain("http://shop.acme.com.au") == "acme.com.au"
    assert registered_domain("www.acme.de") == "acme.de"
    assert registered_domain("ACME.COM/") == "acme.com"
    assert registered_domain("not a website") is None
    assert email_domain("ap@billing.acme.se") == "acme.se"
    assert email_domain("someone@gmail.com") is None


@pytest.mark.parametrize(
    ("raw", "country", "scheme", "compact"),
    [
        ("DE 136 695 976", "DE", "eu.vat", "DE136695976"),
        ("136695976", "DE", "eu.vat", "DE136695976"),
        ("GB 980 7806 84", "GB", "gb.vat", "GB980780684"),
        ("04-2103594", "US", "us.ein", "042103594"),
        ("51 824 753 556", "AU", "au.abn", "51824753556"),
        ("197401143C", "SG", "sg.uen", "197401143C"),
        ("nl004495445b01", "NL", "eu.vat", "NL004495445B01"),
        ("SE 556188840401", "SE", "eu.vat", "SE556188840401"),
    ],
)
def test_valid_tax_ids_compact_per_scheme(
    raw: str, country: str, scheme: str, compact: str
) -> None:
    tax = parse_tax_id(raw, country)
    assert tax is not None and tax.is_valid, tax
    assert (tax.country, tax.scheme, tax.compact) == (country, scheme, compact)
    assert tax.key == f"{country}:{compact}"


def test_invalid_tax_ids_are_kept_but_not_valid() -> None:
    bad = parse_tax_id("DE 136 695 977", "DE")
    assert bad is not None and not bad.is_valid and bad.key is None
    assert parse_tax_id("12345", None).is_valid is False
    assert parse_tax_id("  ", "DE") is None
    # a VAT prefix names the country even when the record's country is another
    assert parse_tax_id("DE136695976", "US").country == "DE"


def _rec(key: str, name: str, **kw: object) -> object:
    row = {
        "customer_record_key": key,
        "source_system": kw.pop("system", "salesforce"),
        "source_relation": "crm",
        "source_record_id": key,
        "customer_name": name,
    }
    row.update(kw)
    return to_record(row)


def test_bands() -> None:
    a = _rec("a", "Acme Analytics Ltd", country_raw="UK", tax_id_raw="GB980780684")
    b = _rec(
        "b",
        "ACME ANALYTICS LIMITED",
        country_code="GB",
        tax_id_raw="980 7806 84",
        system="dynamics",
    )
    assert compare(a, b).rule == "tax_id"
    c = _rec("c", "Acme Analytics", country_code="GB", website_raw="https://acme.co.uk")
    d = _rec("d", "Acme Analytics Limited", country_raw="United Kingdom", website_raw="acme.co.uk")
    assert compare(c, d).rule == "exact_name_country_domain"
    # two different valid tax ids never auto-merge
    e = _rec("e", "Acme Analytics Ltd", country_code="GB", tax_id_raw="GB 980 7806 84")
    f = _rec("f", "Acme Analytics Ltd", country_code="GB", tax_id_raw="GB100000034")
    assert parse_tax_id("GB100000034", "GB").is_valid
    assert compare(e, f).band == "review"
    # a subsidiary in another country is not a match at all
    g = _rec("g", "Acme Analytics UK", country_code="GB")
    h = _rec("h", "Acme Analytics", country_code="US")
    assert compare(g, h) is None
    # a typo is for a steward
    i = _rec("i", "Acme Analtyics", country_code="GB")
    assert compare(i, c).band == "review"
