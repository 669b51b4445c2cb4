"""Hostile payloads for the webhook parsers: random JSON, and the real fixtures with fields
deleted or given another type. A parser returns an order (or a refund) or raises ValueError, the
adapters' documented "cannot read this payload" error; nothing else ever escapes."""

import copy
import json
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commerce.attribution_values import OrderData
from commerce.platforms import custom, shopify, woocommerce
from tests.commerce.signing import fixture_bytes

FIXTURES = {
    shopify: ["shopify_order_create.json", "shopify_refund_create.json"],
    woocommerce: ["woocommerce_order_created.json"],
    custom: ["custom_order_created.json"],
}
STORE = SimpleNamespace(shop_domain="demo-boutique.myshopify.com", pk=1)
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["", "1e999999", "-0", "NaN", "2026-13-45T99:99:99Z", "12.345.6", "0x1f"]),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


def paths(value, prefix=()):
    """Every (path) into a JSON document, the root excluded."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, child in items:
        yield (*prefix, key)
        yield from paths(child, (*prefix, key))


def mutate(document, path, replacement, delete: bool):
    document = copy.deepcopy(document)
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return document


def parse(module, payload):
    """Every reader of the module, as `delivery_process` calls them; ValueError is allowed."""
    module.describe(store=STORE, payload=payload, headers={})
    readers = [module.order_from_payload]
    if module is shopify:
        readers.append(module.refund_from_payload)
    for reader in readers:
        try:
            result = reader(payload)
        except ValueError:
            continue
        assert isinstance(result, OrderData | tuple)


@pytest.mark.parametrize("module", [shopify, woocommerce, custom], ids=lambda m: m.__name__)
@SETTINGS
@given(payload=json_values)
def test_random_json_never_escapes_as_another_error(module, payload):
    parse(module, payload)


@pytest.mark.parametrize(
    "module,fixture",
    [(module, name) for module, names in FIXTURES.items() for name in names],
    ids=lambda value: getattr(value, "__name__", value),
)
@SETTINGS
@given(data=st.data(), replacement=json_values, delete=st.booleans(), rounds=st.integers(1, 3))
def test_fixtures_with_fields_deleted_or_retyped(
    module, fixture, data, replacement, delete, rounds
):
    document = json.loads(fixture_bytes(fixture))
    for _ in range(rounds):
        candidates = list(paths(document))
        if not candidates:
            break
        path = data.draw(st.sampled_from(candidates))
        document = mutate(document, path, replacement, delete)
    parse(module, document)


@pytest.mark.parametrize("module", [shopify, woocommerce, custom], ids=lambda m: m.__name__)
def test_the_fixtures_themselves_parse(module):
    for name in FIXTURES[module]:
        payload = json.loads(fixture_bytes(name))
        parse(module, payload)


def test_nul_characters_never_reach_the_order():
    payload = json.loads(fixture_bytes("shopify_order_create.json"))
    payload.update(name="#10\u000042", note="a\u0000b")
    payload["line_items"][0]["title"] = "Linen\u0000 shirt"
    order = shopify.order_from_payload(payload)
    assert "\x00" not in order.order_number + "".join(line.title for line in order.lines)
