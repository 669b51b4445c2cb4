"""plotly figures for the analytics pages, rendered server-side into HTML fragments.

Money arrives as Decimal and turns into floats here only, at the last moment, because plotly
plots floats; every figure a page states in words or tables comes from the Decimals.
"""

from __future__ import annotations

import re
from decimal import Decimal

import plotly.io as pio
from django.utils.html import escape

from omnisocial.models import Platform

PLATFORM_COLOURS = {
    Platform.INSTAGRAM: "#c13584",
    Platform.FACEBOOK: "#1877f2",
    Platform.TIKTOK: "#111111",
}
OTHER_COLOUR = "#98a2b3"
ACCENT = "#4f46e5"
FONT = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"
CONFIG = {"displaylogo": False, "responsive": True, "displayModeBar": False}
# plotly's default template, which graph objects carry without being asked (zero lines, outlines,
# axis margins): read once, so the plain-dict figures below look as graph objects did.
TEMPLATE = pio.templates[pio.templates.default].to_plotly_json()


def to_html(figure: dict) -> str:
    """The one way a figure reaches a page: a div and its script; plotly.js comes from static.

    Figures are plain dicts in plotly's schema, written without `validate`: building and
    checking graph objects cost tens of milliseconds per chart, on every dashboard request."""
    return pio.to_html(
        figure, full_html=False, include_plotlyjs=False, config=CONFIG, validate=False
    )


_SCRIPT = re.compile(r"<script(?=[\s>])([^>]*)>(.*?)</script>", re.S)


def with_nonce(fragment: str, nonce) -> str:
    """The figure's inline bootstrap script with the request's CSP nonce, so it runs under the
    Content Security Policy (which allows no other inline script), and run once the document is
    parsed: plotly.js loads with `defer`, so it never blocks the page's first paint."""
    # `nonce` is Django's LazyNonce: falsy until first read, so test for None, then read it.
    if not fragment:
        return fragment
    attributes = "" if nonce is None or nonce == "" else f' nonce="{escape(str(nonce))}"'
    return _SCRIPT.sub(
        lambda m: (
            f"<script{m.group(1)}{attributes}>document.addEventListener("
            f'"DOMContentLoaded", function () {{{m.group(2)}}});</script>'
        ),
        fragment,
    )


def _layout(traces: list[dict], *, height: int, currency: str = "", **extra) -> dict:
    """A figure of `traces` in the pages' look; `extra` adds layout keys (axes included)."""
    layout = {
        "height": height,
        "margin": {"l": 8, "r": 8, "t": 8, "b": 8},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"family": FONT, "size": 12, "color": "#344054"},
        "legend": {"orientation": "h", "y": -0.15, "x": 0},
        "hoverlabel": {"font": {"family": FONT}},
        "template": TEMPLATE,
        **extra,
    }
    layout["xaxis"] = {**layout.get("xaxis", {}), "showgrid": False, "linecolor": "#e4e7ec"}
    for axis in ["yaxis", *(key for key in extra if key.startswith("yaxis") and key != "yaxis")]:
        layout[axis] = {
            **layout.get(axis, {}), "gridcolor": "#eef0f5", "zeroline": False, "automargin": True,
        }  # fmt: skip
    if currency == "USD":
        layout["yaxis"]["tickprefix"] = "$"
    return {"data": traces, "layout": layout}


def revenue_over_time(series: list[dict], labels: dict[str, str], currency: str) -> str:
    """Stacked daily revenue bars, one colour per platform."""
    days = [row["day"] for row in series]
    platforms = list(series[0]["platforms"]) if series else []
    traces = [
        {
            "type": "bar",
            "name": labels.get(platform, platform or "Other social"),
            "x": days,
            "y": [float(row["platforms"][platform]) for row in series],
            "marker": {"color": PLATFORM_COLOURS.get(platform, OTHER_COLOUR)},
            # The platform of each bar, for the click that opens that day's receipts.
            "customdata": [platform] * len(days),
            "hovertemplate": "%{x|%b %d}: %{y:,.2f} " + currency
            + "<extra>%{fullData.name}</extra>",
        }
        for platform in platforms
    ]  # fmt: skip
    return to_html(_layout(traces, height=300, currency=currency, barmode="stack", bargap=0.25))


def revenue_by_platform(rows: list[dict], currency: str) -> str:
    """Horizontal bars: each platform's revenue."""
    rows = list(reversed(rows))
    bars = {
        "type": "bar",
        "orientation": "h",
        "x": [float(row["revenue"]) for row in rows],
        "y": [row["label"] for row in rows],
        "marker": {"color": [PLATFORM_COLOURS.get(row["platform"], OTHER_COLOUR) for row in rows]},
        "hovertemplate": "%{y}: %{x:,.2f} " + currency + "<extra></extra>",
    }
    figure = _layout([bars], height=60 + 44 * len(rows), bargap=0.35)
    figure["layout"]["xaxis"].update(
        showgrid=True, gridcolor="#eef0f5", tickprefix="$" if currency == "USD" else ""
    )
    return to_html(figure)


def post_daily(series: list[dict], currency: str) -> str:
    """A post's daily revenue (bars) and human clicks (line, right axis)."""
    days = [row["day"] for row in series]
    revenue = {
        "type": "bar",
        "name": f"Revenue ({currency})",
        "x": days,
        "y": [float(row["revenue"]) for row in series],
        "marker": {"color": ACCENT},
        "hovertemplate": "%{x|%b %d}: %{y:,.2f} " + currency + "<extra></extra>",
    }
    clicks = {
        "type": "scatter",
        "name": "Clicks",
        "x": days,
        "y": [row["clicks"] for row in series],
        "yaxis": "y2",
        "mode": "lines+markers",
        "line": {"color": "#f79009", "width": 2},
        "marker": {"size": 5},
        "hovertemplate": "%{x|%b %d}: %{y} clicks<extra></extra>",
    }
    return to_html(
        _layout(
            [revenue, clicks],
            height=280,
            currency=currency,
            yaxis2={
                "overlaying": "y",
                "side": "right",
                "showgrid": False,
                "rangemode": "tozero",
                "tickformat": ",d",
                "title": {"text": "clicks", "font": {"size": 11}},
            },
        )
    )


#: The Segments chart draws this many segments; the rest are summed into one "Other" bar, so a
#: workspace with forty campaigns still gets bars a reader can tell apart.
SEGMENT_BARS = 12
#: A segment's name on the axis is cut to this many characters (the whole name is in the hover
#: and the table): long campaign names would otherwise squeeze the bars off a phone's screen.
SEGMENT_LABEL_CHARS = 22


def segment_bars(rows: list[dict], *, limit: int = SEGMENT_BARS) -> list[dict]:
    """The bars of the Segments chart: the table's rows in its order, the first `limit` of them,
    then one "Other" bar with the revenue of the rest (Decimals summed before they turn into
    floats). Each bar is {"label", "revenue", "colour"}."""
    bars = [
        {"label": row["label"], "revenue": row["revenue"],
         "colour": PLATFORM_COLOURS.get(row["segment"], ACCENT)}
        for row in rows[:limit]
    ]  # fmt: skip
    rest = rows[limit:]
    if rest:
        other = sum((row["revenue"] for row in rest), Decimal(0))
        bars.append(
            {"label": f"Other ({len(rest)} segments)", "revenue": other, "colour": OTHER_COLOUR}
        )
    return bars


def _axis_label(label: str) -> str:
    if len(label) <= SEGMENT_LABEL_CHARS:
        return label
    return label[: SEGMENT_LABEL_CHARS - 1].rstrip() + "…"


def segments_revenue(bars: list[dict], currency: str) -> str:
    """Horizontal bars: each segment's credited revenue, the table's first row on top. Bars sit
    at positions rather than on their names, so two segments with one name stay two bars."""
    positions = list(range(len(bars)))[::-1]  # plotly draws the first category at the bottom
    trace = {
        "type": "bar",
        "orientation": "h",
        "x": [float(bar["revenue"]) for bar in bars],
        "y": positions,
        "customdata": [bar["label"] for bar in bars],
        "marker": {"color": [bar["colour"] for bar in bars]},
        "hovertemplate": "%{customdata}: %{x:,.2f} " + currency + "<extra></extra>",
    }
    figure = _layout([trace], height=60 + 30 * len(bars), bargap=0.3)
    figure["layout"]["xaxis"].update(
        showgrid=True, gridcolor="#eef0f5", tickprefix="$" if currency == "USD" else ""
    )
    figure["layout"]["yaxis"].update(
        tickmode="array",
        tickvals=positions,
        ticktext=[_axis_label(bar["label"]) for bar in bars],
        range=[-0.6, len(bars) - 0.4],
    )
    return to_html(figure)
