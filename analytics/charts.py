"""plotly figures for the analytics pages, rendered server-side into HTML fragments.

Money arrives as Decimal and turns into floats here only, at the last moment, because plotly
plots floats; every figure a page states in words or tables comes from the Decimals.
"""

from __future__ import annotations

import re

import plotly.graph_objects as go
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


def to_html(fig: go.Figure) -> str:
    """The one way a figure reaches a page: a div and its script; plotly.js comes from static."""
    return fig.to_html(full_html=False, include_plotlyjs=False, config=CONFIG)


_SCRIPT_TAG = re.compile(r"<script(?=[\s>])")


def with_nonce(fragment: str, nonce) -> str:
    """The figure's inline bootstrap script with the request's CSP nonce, so it runs under the
    Content Security Policy (which allows no other inline script)."""
    # `nonce` is Django's LazyNonce: falsy until first read, so test for None, then read it.
    if not fragment or nonce is None or nonce == "":
        return fragment
    return _SCRIPT_TAG.sub(f'<script nonce="{escape(str(nonce))}"', fragment)


def _layout(fig: go.Figure, *, height: int, currency: str = "", **extra) -> go.Figure:
    fig.update_layout(
        height=height,
        margin={"l": 8, "r": 8, "t": 8, "b": 8},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"family": FONT, "size": 12, "color": "#344054"},
        legend={"orientation": "h", "y": -0.15, "x": 0},
        hoverlabel={"font": {"family": FONT}},
        **extra,
    )
    fig.update_xaxes(showgrid=False, linecolor="#e4e7ec")
    fig.update_yaxes(gridcolor="#eef0f5", zeroline=False, automargin=True)
    if currency == "USD":
        fig.update_layout(yaxis={"tickprefix": "$"})
    return fig


def revenue_over_time(series: list[dict], labels: dict[str, str], currency: str) -> str:
    """Stacked daily revenue bars, one colour per platform."""
    days = [row["day"] for row in series]
    platforms = list(series[0]["platforms"]) if series else []
    fig = go.Figure()
    for platform in platforms:
        fig.add_bar(
            name=labels.get(platform, platform or "Other social"),
            x=days,
            y=[float(row["platforms"][platform]) for row in series],
            marker_color=PLATFORM_COLOURS.get(platform, OTHER_COLOUR),
            hovertemplate="%{x|%b %d}: %{y:,.2f} " + currency + "<extra>%{fullData.name}</extra>",
        )
    return to_html(_layout(fig, height=300, currency=currency, barmode="stack", bargap=0.25))


def revenue_by_platform(rows: list[dict], currency: str) -> str:
    """Horizontal bars: each platform's revenue."""
    rows = list(reversed(rows))
    fig = go.Figure(
        go.Bar(
            orientation="h",
            x=[float(row["revenue"]) for row in rows],
            y=[row["label"] for row in rows],
            marker_color=[PLATFORM_COLOURS.get(row["platform"], OTHER_COLOUR) for row in rows],
            hovertemplate="%{y}: %{x:,.2f} " + currency + "<extra></extra>",
        )
    )
    fig = _layout(fig, height=60 + 44 * len(rows), bargap=0.35)
    fig.update_xaxes(
        showgrid=True, gridcolor="#eef0f5", tickprefix="$" if currency == "USD" else ""
    )
    return to_html(fig)


def post_daily(series: list[dict], currency: str) -> str:
    """A post's daily revenue (bars) and human clicks (line, right axis)."""
    days = [row["day"] for row in series]
    fig = go.Figure()
    fig.add_bar(
        name=f"Revenue ({currency})",
        x=days,
        y=[float(row["revenue"]) for row in series],
        marker_color=ACCENT,
        hovertemplate="%{x|%b %d}: %{y:,.2f} " + currency + "<extra></extra>",
    )
    fig.add_scatter(
        name="Clicks",
        x=days,
        y=[row["clicks"] for row in series],
        yaxis="y2",
        mode="lines+markers",
        line={"color": "#f79009", "width": 2},
        marker={"size": 5},
        hovertemplate="%{x|%b %d}: %{y} clicks<extra></extra>",
    )
    fig = _layout(
        fig,
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
    return to_html(fig)
