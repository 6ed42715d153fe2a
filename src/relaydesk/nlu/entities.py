"""Entities in a message: order numbers, emails, phone numbers, money amounts.

Order: emails, money, grouped phone numbers ("+55 11 98765-4321", "06 12 34 56 78"), then
the caller's order-number patterns (from the brief). A span is read once, so the digits
inside a grouped phone number are never an order number; a bare run of digits is a phone
only with a leading "+" (otherwise it is left to the order patterns).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["DEFAULT_ORDER_PATTERNS", "Entities", "Money", "extract"]

DEFAULT_ORDER_PATTERNS: tuple[str, ...] = (r"\b(?:NW)?\d{5,10}\b",)

_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}\b", re.IGNORECASE)
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{2,5}(?:[\s.-]\d{2,8}){1,4}(?![\w])"
    r"|(?<![\w+])\+\d{8,15}(?!\w)"
)
_SYMBOL = r"R\$|US\$|€|\$|£|¥|₹|Rp\.?|Fr\.?"
_CODE = r"EUR|USD|GBP|BRL|MXN|IDR|CHF|JPY|INR|ARS|COP|CLP|euros?|dollars?|reais|pesos|rupiah"
_AMOUNT = r"\d{1,3}(?:[.,\s]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_MONEY = re.compile(
    rf"(?P<s1>{_SYMBOL})\s?(?P<a1>{_AMOUNT})(?!\d)"
    rf"|(?<![\w.,])(?P<a2>{_AMOUNT})\s?(?P<s2>{_SYMBOL}|\b(?:{_CODE})\b)"
    rf"|\b(?P<c3>{_CODE})\s?(?P<a3>{_AMOUNT})(?!\d)",
    re.IGNORECASE,
)
_CURRENCY = {
    "r$": "BRL", "us$": "USD", "$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR",
    "rp": "IDR", "rp.": "IDR", "fr": "CHF", "fr.": "CHF", "euro": "EUR", "euros": "EUR",
    "dollar": "USD", "dollars": "USD", "reais": "BRL", "pesos": "MXN", "rupiah": "IDR",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Money:
    """An amount with its ISO currency; `text` is the span as written."""

    amount: float
    currency: str
    text: str


@dataclass(frozen=True, slots=True)
class Entities:
    order_numbers: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    money: tuple[Money, ...] = ()


@lru_cache(maxsize=64)
def _compile(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern, re.IGNORECASE))
        except re.error as error:
            raise ValueError(
                f"Order-number pattern {pattern!r} is not a valid regex ({error}); "
                r"write it like '\b(?:NW)?\d{5,10}\b'."
            ) from error
    return tuple(compiled)


def _number(text: str) -> float:
    """'1.299,00' / '1,299.00' / '12,50' / '1 299' -> float: the last separator followed by
    one or two digits is the decimal mark; every other separator groups thousands."""
    digits = text.replace(" ", "")
    decimal = re.search(r"[.,](\d{1,2})$", digits)
    whole = digits[: decimal.start()] if decimal else digits
    value = float(re.sub(r"[.,]", "", whole) or 0)
    return value + (float("0." + decimal.group(1)) if decimal else 0.0)


def _free(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return all(span[1] <= start or span[0] >= end for start, end in taken)


def extract(text: str, order_patterns: Sequence[str] = DEFAULT_ORDER_PATTERNS) -> Entities:
    """Order numbers (by the caller's patterns), emails, phones and money amounts in `text`."""
    taken: list[tuple[int, int]] = []
    emails = []
    for match in _EMAIL.finditer(text):
        emails.append(match.group(0))
        taken.append(match.span())
    money = []
    for match in _MONEY.finditer(text):
        if not _free(match.span(), taken):
            continue
        amount = match.group("a1") or match.group("a2") or match.group("a3")
        unit = (match.group("s1") or match.group("s2") or match.group("c3")).lower()
        money.append(Money(_number(amount), _CURRENCY.get(unit, unit.upper()), match.group(0)))
        taken.append(match.span())
    phones = []
    for match in _PHONE.finditer(text):
        written = match.group(0).strip()
        digits = re.sub(r"\D", "", written)
        grouped = written.startswith("+") or not written.isdigit()
        if grouped and 7 <= len(digits) <= 15 and _free(match.span(), taken):
            phones.append(written)
            taken.append(match.span())
    orders = []
    for pattern in _compile(tuple(order_patterns)):
        for match in pattern.finditer(text):
            if _free(match.span(), taken):
                orders.append(match.group(0))
                taken.append(match.span())
    return Entities(tuple(orders), tuple(emails), tuple(phones), tuple(money))
