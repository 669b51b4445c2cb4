"""How a post is named wherever it is listed (pages, pickers, exports): its platform, its
reference (unique in the workspace, and what its links carry as utm_content) and its publication
day, then the start of its caption. Captions alone repeat: three posts can all read "Meet the
linen shirt: made to last…"; the reference and the day tell them apart."""

from __future__ import annotations

import re

from django.utils import timezone

from omnisocial.models import Post

CAPTION_CHARS = 40


URL = re.compile(r"https?://\S+")


def excerpt(caption: str, chars: int = CAPTION_CHARS) -> str:
    """A caption without its links (pages show them elsewhere), cut at a word."""
    text = " ".join(URL.sub("", caption or "").split())
    if len(text) <= int(chars):
        return text
    return text[: int(chars)].rsplit(" ", 1)[0].rstrip(",.;:") + "…"


def post_day(post: Post, zone=None) -> str:
    """The publication day in the workspace's zone ("Dec 1, 2026"), or "unpublished". Pass the
    zone when listing many posts (else each post reads its workspace)."""
    if post.published_at is None:
        return "unpublished"
    day = timezone.localtime(post.published_at, zone or post.workspace.zone)
    return f"{day:%b} {day.day}, {day.year}"


def post_label(post: Post, *, caption: bool = True, zone=None) -> str:
    """`Instagram · post-26 · Dec 1, 2026 · Meet the linen shirt…` (the caption part optional)."""
    parts = [post.get_platform_display(), post.reference, post_day(post, zone)]
    if caption and post.caption:
        parts.append(excerpt(post.caption))
    return " · ".join(parts)
