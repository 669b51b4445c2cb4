"""Reads of the attribution app."""

import logging
from datetime import datetime
from functools import partial
from time import monotonic
from typing import NamedTuple

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, Q, QuerySet
from django.db.models.signals import post_delete, post_save

from attribution.models import AllowedDomain, AttributionState, RemovalEffect, TrackedLink
from attribution.tagging import check_destination, urls_in
from omnisocial.checks import cache_is_shared
from omnisocial.errors import CACHE_UNAVAILABLE
from omnisocial.models import Post, Workspace

logger = logging.getLogger(__name__)

# The link cache: what `/r/<code>` needs, in the shared cache (CACHE_URL), so that a redirect
# costs no query and keeps working, in every web process, while the database is unavailable.
# A link's entry is written when the link is created or changed (once the transaction commits)
# and kept until it changes again or is deleted; an entry filled by a redirect that found the
# cache empty (a link older than the cache) lasts LINK_CACHE_SECONDS. Without a shared cache
# (each process's own memory) every entry lasts LOCAL_LINK_CACHE_SECONDS, so that a change made
# by another process reaches this one's copy. Unknown codes are remembered briefly, so a scan of
# random codes does not reach the database on every request.
LINK_CACHE_SECONDS = 24 * 3600
LOCAL_LINK_CACHE_SECONDS = 300
UNKNOWN_LINK_CACHE_SECONDS = 30
# No code is longer (new_link_code makes 7 characters): a longer one is no link, answered 404
# without a look-up and never cached, so a flood of long random codes costs no memory.
LINK_CODE_MAX_LENGTH = TrackedLink._meta.get_field("code").max_length
_LINK_FIELDS = ("id", "workspace_id", "post_id", "tagged_url")
# In front of the shared cache, each process keeps the links it has just redirected for
# HOT_LINK_SECONDS: a link clicked many times a second (a post going viral) costs no round trip
# to the cache, and a change made by another process reaches this one within that time (this
# process's own changes at once). Found links only, and at most HOT_LINKS of them, so a scan of
# random codes cannot grow it.
HOT_LINK_SECONDS = 5.0
HOT_LINKS = 2048
_hot_links: dict[str, tuple[float, "LinkTarget"]] = {}


class LinkTarget(NamedTuple):
    link_id: int
    workspace_id: int
    post_id: int
    tagged_url: str


def link_cache_key(code: str) -> str:
    return f"link:{code}"


def link_target(code: str) -> LinkTarget | None:
    """What `/r/<code>` needs, from this process's hot links, else the link cache, else the
    database (which then fills the cache). None for a code no link has. While the database is
    unreachable a code the caches do not hold raises the database's error (the redirect answers
    503). An unreachable cache is skipped: the database answers alone."""
    if len(code) > LINK_CODE_MAX_LENGTH:
        return None
    now = monotonic()
    hot = _hot_links.get(code)
    if hot is not None and hot[0] > now:
        return hot[1]
    target = _link_target(code)
    if target is not None:
        if len(_hot_links) >= HOT_LINKS:
            _hot_links.clear()  # a rare full reset keeps the bound without bookkeeping
        _hot_links[code] = (now + HOT_LINK_SECONDS, target)
    return target


def hot_links_clear() -> None:
    """Forgets this process's hot links (the shared cache keeps its entries)."""
    _hot_links.clear()


def _link_target(code: str) -> LinkTarget | None:
    key = link_cache_key(code)
    try:
        cached = cache.get(key)
    except CACHE_UNAVAILABLE:
        logger.warning("link cache unavailable; /r/%s read from the database", code, exc_info=True)
        row = TrackedLink.objects.filter(code=code).values_list(*_LINK_FIELDS).first()
        return LinkTarget(*row) if row else None
    if cached is not None:
        return LinkTarget(*cached) if cached else None
    row = TrackedLink.objects.filter(code=code).values_list(*_LINK_FIELDS).first()
    # `add`, not `set`: an entry written meanwhile by the link's own save is newer than this row.
    timeout = _link_timeout(written=False) if row else UNKNOWN_LINK_CACHE_SECONDS
    _cache_quietly(cache.add, key, tuple(row) if row else (), timeout)
    return LinkTarget(*row) if row else None


def link_cache_put(links) -> None:
    """Writes the links' redirect data into the link cache (with no expiry in a shared cache)."""
    for link in links:
        _hot_links.pop(link.code, None)
    _cache_quietly(
        cache.set_many,
        {link_cache_key(link.code): tuple(getattr(link, f) for f in _LINK_FIELDS)
         for link in links},
        _link_timeout(written=True),
    )  # fmt: skip


def _link_timeout(*, written: bool) -> int | None:
    if not cache_is_shared():
        return LOCAL_LINK_CACHE_SECONDS
    return None if written else LINK_CACHE_SECONDS


def _cache_quietly(method, *args) -> None:
    try:
        method(*args)
    except CACHE_UNAVAILABLE:
        logger.warning("link cache unavailable; not written", exc_info=True)


def _link_saved(sender, instance: TrackedLink, **kwargs) -> None:
    # Once committed: a rolled-back link must never become a redirect.
    transaction.on_commit(partial(link_cache_put, [instance]))


def _link_deleted(sender, instance: TrackedLink, **kwargs) -> None:
    # At once, and again once committed (a redirect may refill it from the row meanwhile).
    def forget():
        _hot_links.pop(instance.code, None)
        _cache_quietly(cache.delete, link_cache_key(instance.code))

    forget()
    transaction.on_commit(forget)


post_save.connect(_link_saved, sender=TrackedLink, dispatch_uid="attribution.link_cache_put")
post_delete.connect(_link_deleted, sender=TrackedLink, dispatch_uid="attribution.link_cache_del")


def allowed_domains(workspace: Workspace) -> set[str]:
    """Hosts the workspace's links may point to: its allowed domains and its stores' domains."""
    domains = set(
        AllowedDomain.objects.filter(workspace=workspace).values_list("domain", flat=True)
    )
    return domains | _store_domains(workspace)


def _store_domains(workspace: Workspace) -> set[str]:
    from commerce.models import StoreConnection

    return set(
        StoreConnection.objects.filter(workspace=workspace, is_active=True).values_list(
            "shop_domain", flat=True
        )
    )


HUMAN = Q(clicks__is_bot=False)


def posts_with_click_counts(posts: QuerySet[Post]) -> QuerySet[Post]:
    """Posts annotated with `human_clicks` and `unique_clicks` (bots never count)."""
    return posts.annotate(
        human_clicks=Count("clicks", filter=HUMAN),
        unique_clicks=Count("clicks", filter=HUMAN & Q(clicks__is_unique=True)),
    ).order_by(*Post._meta.ordering)


def links_of(post: Post) -> QuerySet[TrackedLink]:
    """The post's links with their human, unique and bot click counts."""
    return links_with_counts(post.links.all())


def links_with_counts(links: QuerySet[TrackedLink]) -> QuerySet[TrackedLink]:
    return links.order_by("created_at", "id").annotate(
        human_clicks=Count("clicks", filter=HUMAN),
        unique_clicks=Count("clicks", filter=HUMAN & Q(clicks__is_unique=True)),
        bot_clicks=Count("clicks", filter=Q(clicks__is_bot=True)),
    )


def untagged_urls(post: Post, links: list[TrackedLink]) -> list[tuple[str, str]]:
    """URLs of the post that have no tracked link, with the reason (usually: host not allowed)."""
    tagged = {link.destination_url for link in links}
    candidates = [post.link_url] if post.link_url else []
    candidates += [url for url in urls_in(post.caption) if url not in candidates]
    allowed = allowed_domains(post.workspace)
    result = []
    for url in candidates:
        if url in tagged:
            continue
        try:
            check_destination(url, allowed)
            result.append((url, "Not tagged yet: save the post again."))
        except ValidationError as exc:
            result.append((url, " ".join(exc.messages)))
    return result


class LearntEffects(NamedTuple):
    """What data-driven credit learnt in the workspace's last full recalculation."""

    converting_journeys: int
    computed_at: datetime | None
    #: Largest first, ties by post then campaign (None first), each with its post and campaign.
    effects: list[RemovalEffect]

    @property
    def fallback(self) -> bool:
        """True while there is too little data: data-driven credit is multi-touch."""
        return not self.effects


def learnt_effects(workspace: Workspace, *, limit: int | None = None) -> LearntEffects:
    """The removal effects data-driven credit is computed from (`attribution.engine.effects`),
    as the API and the compare page show them."""
    state = AttributionState.objects.filter(workspace=workspace).first()
    rows = (
        RemovalEffect.objects.filter(workspace=workspace)
        .select_related("post", "campaign")
        .order_by(
            "-effect", F("post_id").asc(nulls_first=True), F("campaign_id").asc(nulls_first=True)
        )
    )
    return LearntEffects(
        converting_journeys=state.converting_journeys if state else 0,
        computed_at=state.full_run_at if state else None,
        effects=list(rows[:limit] if limit else rows),
    )
