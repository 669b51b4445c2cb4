"""How pages write figures: a negative figure with the minus sign (never a hyphen beside a
minus), no −0.00, and large changes as whole percents rather than "+999%+"."""

from decimal import Decimal

import pytest
from django.template import Context, Template

from analytics.templatetags.analytics_format import change, minus_money, money, orders


@pytest.mark.parametrize(
    ("value", "written"),
    [("-553.2", "−553.20"), ("-0.004", "0.00"), ("-1234567.891", "−1,234,567.89"),
     ("12.5", "12.50"), (None, "—")],
)  # fmt: skip
def test_money_writes_a_negative_with_the_minus_sign(value, written):
    assert money(value) == written


@pytest.mark.parametrize(
    ("value", "written"), [("-7", "−7"), ("-0.004", "0.00"), ("-6.14", "−6.14"), ("3", "3")]
)
def test_orders_writes_a_negative_with_the_minus_sign(value, written):
    assert orders(value) == written


@pytest.mark.parametrize(
    ("value", "written"), [("12.5", "−12.50"), ("0.004", "0.00"), ("0", "0.00"), (None, "—")]
)
def test_an_amount_taken_away_never_reads_minus_zero(value, written):
    assert minus_money(value) == written


@pytest.mark.parametrize(
    ("value", "written"),
    [("11.2729", "+1,127%"), ("9.99", "+999.0%"), ("-1", "−100.0%"), ("0", "±0.0%")],
)
def test_a_large_change_is_written_in_whole_percents(value, written):
    assert change(Decimal(value)) == written


def test_a_fall_reads_minus_beside_minus():
    template = Template(
        "{% load analytics_format %}{{ delta|orders }} {{ ratio|change }} · {{ loss|money }}"
    )
    written = template.render(Context({"delta": -7, "ratio": Decimal("-1"), "loss": "-553.20"}))
    assert written == "−7 −100.0% · −553.20"
