"""Reads of the attribution app."""

from typing import NamedTuple

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet

from attribution.models import AllowedDomain, TrackedLink
from attribution.tagging import check_destination, urls_in
from omnisocial.models import Post, Workspace

LINK_CACHE_SECONDS = 300
UNKNOWN_LINK_CACHE_SECONDS = 30


class LinkTarget(NamedTuple):
    link_id: int
    workspace_id: int
    post_id: int
    tagged_url: str


def link_cache_key(code: str) -> str:
    return f"link:{code}"


def link_target(code: str) -> LinkTarget | None:
    """What `/r/<code>` needs, cached for five minutes so the redirect costs no query when warm
    and keeps working while the database is briefly unavailable. Unknown codes are cached briefly
    too, so a scan of random codes does not reach the database on every request."""
    key = link_cache_key(code)
    cached = cache.get(key)
    if cached is not None:
        return LinkTarget(*cached) if cached else None
    row = (
        TrackedLink.objects.filter(code=code)
        .values_list("id", "workspace_id", "post_id", "tagged_url")
        .first()
    )
    cache.set(key, row or (), LINK_CACHE_SECONDS if row else UNKNOWN_LINK_CACHE_SECONDS)
    return LinkTarget(*row) if row else None


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
