"""Entities: order numbers by the caller's patterns, emails, phones, money."""

from __future__ import annotations

import pytest

from relaydesk.nlu.entities import Money, extract


def test_order_number_default_pattern() -> None:
    """The default pattern takes NW-prefixed and plain 5-10 digit numbers."""
    assert extract("order NW123456 and 98765").order_numbers == ("NW123456", "98765")


def test_phone_digits_are_not_an_order_number() -> None:
    """Digits inside a grouped phone number are not read as an order number."""
    found = extract("order NW123456 late, call me at +55 11 98765-4321")
    assert found.order_numbers == ("NW123456",)
    assert found.phones == ("+55 11 98765-4321",)


def test_caller_patterns_replace_the_default() -> None:
    """Patterns from the brief decide what an order number is."""
    found = extract("order A-99812, ref 123456", [r"\bA-\d{5}\b"])
    assert found.order_numbers == ("A-99812",)


def test_bad_pattern_names_the_pattern() -> None:
    """An invalid pattern fails with a message naming it."""
    with pytest.raises(ValueError, match=r"'\(unclosed'"):
        extract("x", ["(unclosed"])


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("call +14155552671", "+14155552671"),  # E.164
        ("mi número es 612 34 56 78", "612 34 56 78"),  # es local, spaced
        ("me liga (11) 98765-4321", "(11) 98765-4321"),  # br local with area code
        ("tel 030-1234567", "030-1234567"),  # de local with dash
    ],
)
def test_phones(text: str, phone: str) -> None:
    assert extract(text).phones == (phone,)


def test_emails() -> None:
    found = extract("write to ana.b+x@mail.co.uk or ops@shop.com.")
    assert found.emails == ("ana.b+x@mail.co.uk", "ops@shop.com")
    assert found.order_numbers == ()


@pytest.mark.parametrize(
    ("text", "money"),
    [
        ("it cost €12,50", Money(12.5, "EUR", "€12,50")),  # comma decimal
        ("charged $1,299.00 twice", Money(1299.0, "USD", "$1,299.00")),  # thousands + cents
        ("refund 20 EUR please", Money(20.0, "EUR", "20 EUR")),  # code after
        ("paguei R$ 50", Money(50.0, "BRL", "R$ 50")),  # real before US dollar sign
        ("valor R$1.234,56", Money(1234.56, "BRL", "R$1.234,56")),  # dot thousands
        ("Rp 150.000 saja", Money(150000.0, "IDR", "Rp 150.000")),  # rupiah thousands
        ("USD 35 fee", Money(35.0, "USD", "USD 35")),  # code before
    ],
)
def test_money(text: str, money: Money) -> None:
    assert extract(text).money == (money,)


def test_money_is_not_an_order_number() -> None:
    """A large amount is money, not an order number."""
    found = extract("I paid 125000 IDR for order 4455667")
    assert found.money == (Money(125000.0, "IDR", "125000 IDR"),)
    assert found.order_numbers == ("4455667",)


def test_nothing_in_plain_text() -> None:
    assert extract("ok thanks") == extract("")
