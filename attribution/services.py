"""Writes of the attribution app: allowed domains, link tagging, click recording."""

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, IntegrityError, connections, transaction
from django_q.tasks import async_task

from attribution import selectors
from attribution.models import AllowedDomain, Click, TrackedLink, new_link_code
from attribution.tagging import add_utms, check_allowed_domain, check_destination, urls_in
from omnisocial.db import hot_cursor
from omnisocial.models import Post, Workspace

logger = logging.getLogger(__name__)


def domain_allow(*, workspace: Workspace, domain: str) -> AllowedDomain:
    """Lets tracked links of the workspace point at `domain` and its subdomains. Raises
    ValidationError for IP addresses, local names, single labels and public suffixes
    (`tagging.check_allowed_domain`)."""
    allowed, _ = AllowedDomain.objects.get_or_create(
        workspace=workspace, domain=check_allowed_domain(domain)
    )
    return allowed


def link_defaults(post: Post, *, utm_term: str = "") -> dict[str, str]:
    """The UTMs a post's links carry: the platform, the medium, the campaign, the post itself."""
    return {
        "utm_source": post.platform,
        "utm_medium": post.workspace.utm_medium,
        "utm_campaign": post.campaign.slug if post.campaign_id else "",
        "utm_content": post.reference,
        "utm_term": utm_term,
    }


def link_tag(
    *,
    post: Post,
    url: str,
    source: str = TrackedLink.Source.API,
    utm_term: str = "",
    allowed: set[str] | None = None,
) -> TrackedLink:
    """Returns the post's tracked link for `url`, creating it or refreshing its UTMs.

    The same URL on the same post always gives the same link and short code, so re-saving a post
    or tagging a URL twice creates nothing new. Raises ValidationError when the URL may not be
    tracked (not http(s), or a host outside the workspace's stores and allowed domains).
    """
    url = url.strip()
    check_destination(
        url, selectors.allowed_domains(post.workspace) if allowed is None else allowed
    )
    tagged = add_utms(url, link_defaults(post, utm_term=utm_term))
    values = {
        "tagged_url": tagged.url,
        **{key: tagged.utms.get(key, "") for key in link_defaults(post)},
    }
    link = post.links.filter(destination_url=url).first()
    if link is not None:
        changed = [name for name, value in values.items() if getattr(link, name) != value]
        if changed:
            for name in changed:
                setattr(link, name, values[name])
            link.save(update_fields=changed)  # the link cache follows (selectors)
        return link
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return TrackedLink.objects.create(
                    workspace=post.workspace,
                    post=post,
                    code=new_link_code(),
                    destination_url=url,
                    source=source,
                    **values,
                )
        except IntegrityError:
            existing = post.links.filter(destination_url=url).first()
            if existing is not None:  # tagged concurrently by another request
                return existing
    raise RuntimeError("Could not find a free short code after 5 attempts.")


@dataclass
class TaggingResult:
    links: list[TrackedLink] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


def post_links_tag(*, post: Post) -> TaggingResult:
    """Tags every http(s) URL of the post's caption and its link field.

    URLs to hosts the workspace does not allow are left untagged and reported with the reason:
    a caption may mention other sites, and that must not stop the post from being saved.
    """
    result = TaggingResult()
    allowed = selectors.allowed_domains(post.workspace)
    candidates = [(url, TrackedLink.Source.CAPTION) for url in urls_in(post.caption)]
    if post.link_url and post.link_url not in dict(candidates):
        candidates.insert(0, (post.link_url, TrackedLink.Source.LINK))
    for url, source in candidates:
        try:
            result.links.append(link_tag(post=post, url=url, source=source, allowed=allowed))
        except ValidationError as exc:
            result.refused.append((url, " ".join(exc.messages)))
    return result


def click_record(
    *,
    target: selectors.LinkTarget,
    click_id: str,
    visitor_id: str,
    clicked_at: datetime,
    referrer: str,
    user_agent: str,
    ip_prefix: str,
    is_bot: bool,
    bot_reason: str,
    is_unique: bool,
) -> bool:
    """Stores one click: a single INSERT. Returns False when the database refused it, in which
    case the click is written to the spool (see `click_spool_flush`) and the visitor is still
    redirected: a database hiccup must never cost a visitor or a click."""
    values = {
        "workspace_id": target.workspace_id,
        "link_id": target.link_id,
        "post_id": target.post_id,
        "click_id": click_id,
        "visitor_id": visitor_id,
        "clicked_at": clicked_at,
        "referrer": referrer[:1000],
        "user_agent": user_agent[:500],
        "ip_prefix": ip_prefix,
        "is_bot": is_bot,
        "bot_reason": bot_reason,
        "is_unique": is_unique,
    }
    try:
        _click_insert(values)
        return True
    except DatabaseError:
        logger.exception("click %s not stored; spooled for later", click_id)
        _spool(values)
        return False


def _click_insert(values: dict) -> None:
    """The click's INSERT, written out: the hot path's one statement without building a model
    instance (the ORM's create costs as much again as the round trip)."""
    db = connections[DEFAULT_DB_ALIAS]
    row = {**values, "clicked_at": db.ops.adapt_datetimefield_value(values["clicked_at"])}
    columns = ", ".join(db.ops.quote_name(name) for name in row)
    table = db.ops.quote_name(Click._meta.db_table)
    with hot_cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(row))})",  # noqa: S608
            list(row.values()),
        )


def _spool_path() -> Path:
    return Path(settings.CLICK_SPOOL_DIR) / "clicks.jsonl"


def _spool(values: dict) -> None:
    path = _spool_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {**values, "clicked_at": values["clicked_at"].isoformat()}
    with path.open("a", encoding="utf-8") as spool:
        spool.write(json.dumps(record) + "\n")


def click_spool_flush() -> int:
    """Stores the spooled clicks. Idempotent: a click already stored (same click id) is skipped,
    so a flush that fails half-way can simply run again. Returns the number of new rows."""
    path = _spool_path()
    if not path.exists():
        return 0
    working = path.with_suffix(".flushing")
    if not working.exists():
        path.rename(working)
    rows = []
    for line in working.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            record["clicked_at"] = datetime.fromisoformat(record["clicked_at"])
            rows.append(Click(**record))
    before = Click.objects.filter(click_id__in=[row.click_id for row in rows]).count()
    Click.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    working.unlink()
    return len(rows) - before


def _queued_key(task: str, workspace_id: int) -> str:
    return f"rebuild-queued:{task}:{workspace_id}"


def rebuild_enqueue(task: str, workspace_id: int) -> bool:
    """Queues a whole-workspace task (`rollups_rebuild`, `workspace_recalculate`) unless the same
    one is already queued and not yet started: six deletions in a row run one rebuild, not six.
    The mark lives in the shared cache (one atomic add) and is cleared when the task starts
    (`rebuild_started`), so a change made while it runs queues the next one; it expires after
    the task timeout in case the queued task is lost. Returns whether a task was queued."""
    timeout = settings.Q_CLUSTER["timeout"] + settings.Q_CLUSTER["retry"]
    if not cache.add(_queued_key(task, workspace_id), 1, timeout=timeout):
        return False
    async_task(f"attribution.tasks.{task}", workspace_id, group="attribution")
    return True


def rebuild_started(task: str, workspace_id: int) -> None:
    cache.delete(_queued_key(task, workspace_id))
