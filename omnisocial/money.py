"""Money: Decimal amounts with a currency, and the one rounding rule the project uses."""

from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 minor units that differ from 2. Amounts are stored with two decimal places; a currency
# with no minor unit (JPY, KRW...) is rounded to whole units before it is stored or split.
_MINOR_UNITS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
}  # fmt: skip

MONEY_FIELD = {"max_digits": 14, "decimal_places": 2}
ZERO = Decimal("0.00")


def minor_units(currency: str) -> int:
    """Decimal places of the currency's smallest unit (2 unless ISO 4217 says otherwise)."""
    return _MINOR_UNITS.get(currency.upper(), 2)


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


def round_money(amount: Decimal | str | int, currency: str = "USD") -> Decimal:
    """Rounds half up to the currency's minor unit, the way invoices and stores round."""
    return Decimal(amount).quantize(quantum(currency), rounding=ROUND_HALF_UP)


def money_text(amount, currency: str) -> str:
    """An amount in a sentence, as the pages write it: `6,255.50 USD` (alerts, insights)."""
    return f"{Decimal(amount):,} {currency}"
