"""Posts that can be told apart: three posts with the same caption are named by the one post
label (platform, reference, publication day, caption on hover) on Compare, Paths, the posts list,
the order page and the coupon form's picker."""

import re
from datetime import timedelta
from html import unescape

from tests.analytics.pages.conftest import TODAY, order_record
from tests.factories import PostFactory

CAPTION = "Meet the linen shirt: made to last, priced to sell, in five colours"


def _three_alike(workspace, store):
    posts = []
    for n, ref in enumerate(("linen-a", "linen-b", "linen-c")):
        posts.append(PostFactory(workspace=workspace, caption=CAPTION, reference=ref,
                                 published_at=TODAY - timedelta(days=10 - n)))  # fmt: skip
        order_record(store, 100 + n, at=TODAY - timedelta(days=2), total="40.00",
                     utm_content=ref, utm_source="instagram")  # fmt: skip
    return posts


def _labels(page: str) -> list[str]:
    found = re.findall(r'<span class="post-label"[^>]*>(.*?)</span>\s*</a>', page, re.S)
    return [re.sub(r"<[^>]+>", "", unescape(label)).strip() for label in found]


def test_alike_posts_are_told_apart_on_compare_paths_posts_and_orders(client, workspace, store):
    posts = _three_alike(workspace, store)
    for path in ("/analytics/revenue/compare/", "/analytics/revenue/paths/", "/posts/"):
        page = client.get(path).content.decode()
        labels = [label for label in _labels(page) if "linen-" in label]
        assert labels, path
        for post in posts:
            assert any(f"{post.reference}" in label for label in labels), (path, post.reference)
        for label in set(labels):
            assert " ".join(label.split()).count("linen-") == 1, label
        assert f'title="{CAPTION}"' in page  # the whole caption on hover
    day = (TODAY - timedelta(days=10)).strftime("%b %-d, %Y")
    assert day in unescape(client.get("/posts/").content.decode())


def test_the_coupon_picker_names_posts_by_the_post_label(client, workspace, store):
    _three_alike(workspace, store)
    page = unescape(client.get("/analytics/coupons/").content.decode())
    options = re.findall(r"<option value=\"\d+\"[^>]*>([^<]*linen-[^<]*)</option>", page)
    assert len(options) == 3 and len(set(options)) == 3
    assert all(option.startswith("Instagram · linen-") for option in options)
