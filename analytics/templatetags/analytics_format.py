"""How the analytics pages write money, counts and rates."""

from decimal import ROUND_HALF_UP, Decimal

from django.contrib.humanize.templatetags.humanize import intcomma
from django.template import Library
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from analytics import charts
from omnisocial import labels

register = Library()


def _round(value: Decimal, places: int) -> Decimal:
    """Half up, as invoices round (Python's own formatting rounds half to even)."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


# Pages write a negative figure with the minus sign (U+2212), as the change filter does, so a
# minus and a hyphen never stand side by side ("▼ −7 −100.0%").
MINUS = "\u2212"


def _signed(text: str) -> str:
    """A formatted figure with the typographic minus; a figure that rounds to zero has no sign
    (a refund credit of 0.004 is 0.00, not −0.00)."""
    if not text.startswith("-"):
        return text
    digits = text[1:]
    return digits if not digits.strip("0.,") else MINUS + digits


@register.filter
def money(value, places=2):
    """12345.5 -> 12,345.50; -12.5 -> −12.50; None -> —."""
    if value in (None, ""):
        return "—"
    return _signed(intcomma(str(_round(Decimal(value), int(places)))))


@register.filter
def minus_money(value, places=2):
    """An amount taken away (a refund credit): 12.5 -> −12.50; an amount that rounds to zero
    shows as 0.00, never −0.00; None -> —."""
    if value in (None, ""):
        return "—"
    return money(-Decimal(value), places)


@register.filter
def orders(value):
    """Credited orders: whole ones as a count (3), fractional ones with two places (2.50), so a
    marketer sees where a model split an order; None -> —."""
    if value in (None, ""):
        return "—"
    value = Decimal(value)
    if value == value.to_integral_value():
        return _signed(intcomma(str(int(value))))
    return _signed(intcomma(str(_round(value, 2))))


# Why a credited-orders figure has a fraction (docs/metrics.md, "Credited orders"), on hover.
FRACTIONAL_ORDERS = (
    "Whole orders plus parts of orders: multi-touch, position-based, time decay and data-driven "
    "split each order between the touches of its journey (weights that sum to 1), so a post or "
    "segment can hold part of one. First and last touch give every order whole to one touch."
)


@register.filter
def credited_orders(value):
    """Credited orders as `orders` writes them, and, when the figure is not whole, in a span
    whose title says why (whole figures need no explanation). For a cell's content only: inside
    an attribute, use `orders`."""
    shown = orders(value)
    if value in (None, "") or Decimal(value) == Decimal(value).to_integral_value():
        return shown
    return format_html('<span class="fraction" title="{}">{}</span>', FRACTIONAL_ORDERS, shown)


@register.filter
def percent(value, places=1):
    """A ratio as a percentage: 0.0425 -> 4.3%; None -> —."""
    if value in (None, ""):
        return "—"
    return f"{_round(Decimal(value) * 100, int(places))}%"


@register.filter
def change(value):
    """A change ratio with its sign: 0.125 -> +12.5%, -0.04 -> −4.0%, 11.27 -> +1,127%."""
    if value in (None, ""):
        return ""
    pct = Decimal(value) * 100
    sign = "+" if pct > 0 else (MINUS if pct < 0 else "±")
    if abs(pct) >= 1000:  # from a near-empty period: whole percents, the tenth says nothing more
        return f"{sign}{intcomma(str(_round(abs(pct), 0)))}%"
    return f"{sign}{_round(abs(pct), 1)}%"


@register.filter
def direction(value):
    """up, down or flat: the CSS class of a change."""
    if value in (None, ""):
        return "flat"
    return "up" if value > 0 else ("down" if value < 0 else "flat")


@register.filter
def multiple(value):
    """ROAS: 3.2 -> 3.20×."""
    if value in (None, ""):
        return "—"
    return f"{_round(Decimal(value), 2)}×"


@register.filter
def bar_width(value, maximum):
    """A value's share of the largest as a CSS percentage (for in-table bars)."""
    if not value or not maximum:
        return "0"
    return f"{min(Decimal(value) / Decimal(maximum) * 100, Decimal(100)):.1f}"


@register.simple_tag(takes_context=True)
def query(context, **changes):
    """The current query string with some parameters changed (None or '' removes one)."""
    params = context["request"].GET.copy()
    # A link never carries the current page's download or page number along.
    params.pop("export", None)
    params.pop("page", None)
    for key, value in changes.items():
        params.pop(key, None)
        if value not in (None, ""):
            params[key] = value
    encoded = params.urlencode()
    return "?" + encoded if encoded else "?"


@register.filter
def excerpt(caption, length=70):
    """A caption without its links, cut at a word (omnisocial.labels.excerpt, the one rule)."""
    return labels.excerpt(caption, int(length))


@register.filter
def model_label(model):
    """An attribution model's name as the pages write it: "last-touch" -> "Last touch"."""
    from attribution.models import AttributionModel

    try:
        return AttributionModel(model).label
    except ValueError:
        return model


@register.filter
def model_choices(field):
    """A bound field whose choices are attribution models, offered by their labels ("Last
    touch") rather than their slugs; any other field as it is."""
    from attribution.models import AttributionModel

    choices = list(getattr(field.field, "choices", None) or ())
    if choices and all(value in AttributionModel.values for value, _ in choices):
        field.field.choices = [(value, AttributionModel(value).label) for value, _ in choices]
    return field


@register.filter
def choice_text(field):
    """What a bound choice field holds, in its choices' words (for a reader who cannot edit):
    "Last touch" rather than "last-touch", a multiple choice as "First touch, Last touch"."""
    value = field.value()
    choices = {str(key): label for key, label in getattr(field.field, "choices", None) or ()}
    if not choices:
        return value if value not in (None, "") else "—"
    values = value if isinstance(value, (list, tuple)) else [value]
    words = [str(choices.get(str(item), item)) for item in values if item not in (None, "")]
    return ", ".join(words) or "—"


@register.filter
def total_of(rows, key):
    """The sum of one figure over a table's rows (dicts), None counted as nothing."""
    return sum((Decimal(row[key]) for row in rows if row.get(key) is not None), Decimal(0))


@register.filter
def divided_by(value, divisor):
    """value / divisor as a Decimal (a total row's average order value); None without a
    divisor."""
    if value in (None, "") or not divisor:
        return None
    return Decimal(value) / Decimal(divisor)


@register.filter
def item_at(sequence, index):
    """The index-th item of a list (a table's column beside its cells): `models|item_at:0`."""
    try:
        return sequence[int(index)]
    except (IndexError, TypeError, ValueError):
        return ""


@register.filter
def short_label(label):
    """A model's label without its parenthesis: "Time decay (7-day half-life)" -> "Time decay"."""
    return str(label).split(" (")[0]


@register.filter
def with_nonce(chart_html, nonce):
    """A server-rendered chart (trusted HTML from analytics.charts) with its inline script
    carrying the CSP nonce: `{{ series_chart|with_nonce:csp_nonce }}`."""
    return mark_safe(charts.with_nonce(chart_html or "", nonce))  # noqa: S308 - our own figure


@register.inclusion_tag("analytics/_post_label.html", takes_context=True)
def post_label(context, post, chars=40):
    """The one way pages name a post: platform badge, thumbnail where the platform gave one,
    reference and publication day (which tell apart posts whose captions read alike), then the
    start of the caption; the whole caption on hover."""
    workspace = context.get("workspace")
    return {
        "post": post,
        "thumbnail": getattr(post, "thumbnail_url", "") or "",
        "day": labels.post_day(post, workspace.zone if workspace is not None else None),
        "caption": labels.excerpt(post.caption, int(chars)) if post.caption else "",
    }


@register.simple_tag
def plotly_script():
    """The plotly.js the chart pages load: the partial bundle (bars and lines) when `make
    install` prepared it, else the full one (omnisocial.static_bundle)."""
    from django.templatetags.static import static
    from django.utils.html import format_html

    from omnisocial.static_bundle import script_path

    return format_html('<script src="{}" defer></script>', static(script_path()))
