"""Demo clicks on the demo posts' links: people (some clicking twice) and a share of bots."""

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from attribution import selectors, services
from attribution.models import Click, new_click_id
from omnisocial.models import Post, Workspace

HUMAN_AGENTS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 331.0.0.37.90",  # noqa: E501
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/458.0.0.50.110;]",  # noqa: E501
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 musical_ly_34.1.0",  # noqa: E501
]
BOT_AGENTS = [
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "WhatsApp/2.23.20.0",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
]
REFERRERS = {
    "instagram": "https://l.instagram.com/",
    "facebook": "https://lm.facebook.com/",
    "tiktok": "https://www.tiktok.com/",
}


@transaction.atomic
def seed_clicks(*, workspace: Workspace, posts: list[Post], rng: random.Random) -> int:
    """Adds clicks to demo posts that have none yet (so running it again adds nothing)."""
    visitors = [f"{rng.getrandbits(128):032x}" for _ in range(600)]
    clicked = set(Click.objects.filter(post__in=posts).values_list("post_id", flat=True))
    now = timezone.now()
    created = 0
    for post in posts:
        link = post.links.first()
        if link is None or post.pk in clicked or post.published_at is None:
            continue
        target = selectors.LinkTarget(link.pk, workspace.pk, post.pk, link.tagged_url)
        days = max(1, (now - post.published_at).days)
        for _ in range(rng.randint(20, 120)):
            is_bot = rng.random() < 0.12
            clicked_at = post.published_at + timedelta(
                seconds=int(days * 86400 * rng.random() ** 2)
            )
            services.click_record(
                target=target,
                click_id=new_click_id(),
                visitor_id="" if is_bot else rng.choice(visitors),
                clicked_at=min(clicked_at, now),
                referrer=REFERRERS[post.platform],
                user_agent=rng.choice(BOT_AGENTS if is_bot else HUMAN_AGENTS),
                ip_prefix=f"198.51.{rng.randint(0, 255)}.0/24",
                is_bot=is_bot,
                bot_reason="crawler" if is_bot else "",
                is_unique=rng.random() > 0.15,
            )
            created += 1
    return created


def human_clicks(posts: list[Post]) -> dict[int, list[tuple[str, object]]]:
    """Each post's human clicks as (click id, time), oldest first: demo orders carry them."""
    found: dict[int, list[tuple[str, object]]] = {post.pk: [] for post in posts}
    rows = (
        Click.objects.filter(post__in=posts, is_bot=False)
        .order_by("clicked_at", "pk")
        .values_list("post_id", "click_id", "clicked_at")
    )
    for post_id, click_id, clicked_at in rows:
        found[post_id].append((click_id, clicked_at))
    return found
