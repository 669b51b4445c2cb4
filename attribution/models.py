"""Tracked links and the clicks on them (link tagging and click tracking)."""

import secrets
import string

from django.db import models
from django.db.models import Q

from omnisocial.models import Post, Workspace

CODE_ALPHABET = string.ascii_letters + string.digits
CODE_LENGTH = 7


def new_link_code() -> str:
    """A short random code: 62^7 ≈ 3.5e12 codes, so collisions are rare and retried."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def new_click_id() -> str:
    """The id carried into the store as `osc_click`: 72 random bits, URL-safe, 12 characters."""
    return secrets.token_urlsafe(9)


class AllowedDomain(models.Model):
    """A host that tracked links may send visitors to, besides the connected stores' domains.

    Subdomains are allowed too (`shop.example` allows `www.shop.example`). Anything else is refused,
    so the redirect can never be an open redirect.
    """

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="allowed_domains"
    )
    domain = models.CharField(max_length=253)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["domain"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "domain"], name="alloweddomain_unique"),
        ]

    def __str__(self) -> str:
        return self.domain


class TrackedLink(models.Model):
    """A destination URL of a post, tagged with UTMs and reachable through `/r/<code>`."""

    class Source(models.TextChoices):
        CAPTION = "caption", "Caption"
        LINK = "link", "Post link"
        API = "api", "Tagged on request"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="links")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="links")
    code = models.CharField(max_length=16, unique=True)
    destination_url = models.URLField(
        max_length=2000, help_text="The URL as the marketer wrote it."
    )
    tagged_url = models.URLField(max_length=2500, help_text="The destination with the UTMs added.")
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.CAPTION)
    utm_source = models.CharField(max_length=100)
    utm_medium = models.CharField(max_length=100)
    utm_campaign = models.CharField(max_length=200, blank=True, default="")
    utm_content = models.CharField(max_length=200, blank=True, default="")
    utm_term = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["post", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["post", "destination_url"], name="link_unique_per_post"
            ),
        ]

    def __str__(self) -> str:
        return f"/r/{self.code} → {self.destination_url}"

    @property
    def short_path(self) -> str:
        return f"/r/{self.code}"


class Click(models.Model):
    """One request to `/r/<code>`. Every request is kept; bots are kept but never counted.

    `is_unique` is False for a repeat by the same visitor on the same link within
    UNIQUE_CLICK_WINDOW of their previous click (a sliding window, like a web analytics session).
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="clicks")
    link = models.ForeignKey(TrackedLink, on_delete=models.CASCADE, related_name="clicks")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="clicks")
    click_id = models.CharField(max_length=24, unique=True)
    visitor_id = models.CharField(max_length=40, blank=True, default="")
    clicked_at = models.DateTimeField()
    referrer = models.CharField(max_length=1000, blank=True, default="")
    user_agent = models.CharField(max_length=500, blank=True, default="")
    ip_prefix = models.CharField(
        max_length=45, blank=True, default="", help_text="IPv4 /24 or IPv6 /48: never the full IP."
    )
    is_bot = models.BooleanField(default=False)
    bot_reason = models.CharField(max_length=40, blank=True, default="")
    is_unique = models.BooleanField(default=True)

    class Meta:
        ordering = ["-clicked_at"]
        indexes = [
            models.Index(fields=["post", "clicked_at"], name="click_post_time"),
            models.Index(
                fields=["workspace", "visitor_id", "clicked_at"],
                condition=Q(is_bot=False),
                name="click_human_visitor_time",
            ),
            models.Index(fields=["workspace", "clicked_at"], name="click_workspace_time"),
        ]

    def __str__(self) -> str:
        return f"{self.click_id} on {self.link_id}{' (bot)' if self.is_bot else ''}"
