"""The post pickers (Coupons, KPIs) list the recent posts plus the chosen ones, never every post;
the post search finds older ones by reference, caption words or platform post id, within the
workspace only; and a form keeps any post of the workspace it is sent, refusing another
workspace's with the reason."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest

from analytics.models import RevenueKPI
from analytics.post_picker import RECENT_POSTS, SEARCH_MATCHES
from commerce.models import Coupon
from omnisocial.labels import post_label
from tests.factories import MembershipFactory, PostFactory, WorkspaceFactory

NEWEST = datetime(2026, 11, 20, 12, tzinfo=UTC)
# Two posts more than the picker lists, so the listed ones are exactly the newest.
RECENT_COUNT = RECENT_POSTS + 2


@pytest.fixture
def posts(workspace):
    """An archived post from last year (reference linen-archive) and RECENT_COUNT newer ones,
    one an hour back from NEWEST, newest first."""
    archived = PostFactory(
        workspace=workspace, reference="linen-archive", external_id="17841-archive",
        caption="Meet the linen shirt: made to last, washed soft",
        published_at=datetime(2025, 6, 1, 12, tzinfo=UTC),
    )  # fmt: skip
    recent = [
        PostFactory(workspace=workspace, published_at=NEWEST - timedelta(hours=n))
        for n in range(RECENT_COUNT)
    ]
    return {"archived": archived, "recent": recent}


def options(page: str, select_id: str) -> list[tuple[int, bool, str]]:
    """The post options of one select: (post id, selected, label)."""
    select = re.search(rf'<select[^>]*id="{select_id}".*?</select>', page, re.S).group(0)
    return [
        (int(value), bool(selected), unescape(label))
        for value, selected, label in re.findall(
            r'<option value="(\d+)"( selected)?\s*>([^<]*)</option>', select
        )
    ]


def test_the_coupon_picker_lists_the_recent_posts_newest_first(client, posts):
    page = client.get("/analytics/coupons/").content.decode()

    listed = options(page, "id_posts")
    assert [post_id for post_id, _, _ in listed] == [p.pk for p in posts["recent"][:RECENT_POSTS]]
    assert listed[0][2] == post_label(posts["recent"][0])
    assert 'data-post-search="/analytics/posts/search/" data-for="id_posts"' in page
    assert '<script src="/static/omnisocial/post-picker.js" defer></script>' in page


def test_a_coupon_form_shown_again_keeps_its_older_post_chosen(client, posts):
    archived = posts["archived"]
    refused = client.post("/analytics/coupons/", {"code": " ", "posts": [str(archived.pk)]})

    assert refused.status_code == 400
    listed = options(refused.content.decode(), "id_posts")
    assert len(listed) == RECENT_POSTS + 1
    assert listed[0] == (archived.pk, True, post_label(archived))
    assert not any(selected for _, selected, _ in listed[1:])


def test_a_coupon_saved_with_an_older_post_keeps_it(client, workspace, posts):
    archived, newest = posts["archived"], posts["recent"][0]
    saved = client.post("/analytics/coupons/", {"code": "ARCHIVE10",
                                                "posts": [str(archived.pk), str(newest.pk)]})  # fmt: skip

    assert saved.status_code == 302
    coupon = Coupon.objects.get(workspace=workspace, code="ARCHIVE10")
    assert set(coupon.posts.all()) == {archived, newest}
    page = client.get("/analytics/coupons/").content.decode()
    assert f'<a href="/analytics/posts/{archived.pk}/' in page


def test_a_coupon_naming_another_workspaces_post_is_refused_with_the_reason(client, posts):
    theirs = PostFactory(workspace=WorkspaceFactory(), caption="Meet the linen shirt")
    refused = client.post("/analytics/coupons/", {"code": "THEIRS",
                                                  "posts": [str(posts["archived"].pk), str(theirs.pk)]})  # fmt: skip

    assert refused.status_code == 400
    assert refused.context["coupon_form"].errors["posts"] == [
        f"Post {theirs.pk} is not a post of this workspace."
    ]
    assert f"Post {theirs.pk} is not a post of this workspace." in refused.content.decode()
    assert not Coupon.objects.filter(code="THEIRS").exists()


def search(client, q):
    response = client.get("/analytics/posts/search/", {"q": q})
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_the_search_finds_an_older_post_by_reference_caption_words_or_post_id(client, posts):
    archived = posts["archived"]
    found = [{"id": archived.pk, "label": post_label(archived)}]

    assert search(client, "linen-archive") == found
    assert search(client, "LINEN-ARCH") == found  # any case, part of it
    assert search(client, "linen soft") == found  # every word, anywhere in the caption
    assert search(client, "17841-archive") == found
    assert search(client, "linen nowhere") == []


def test_the_search_answers_at_most_its_limit_newest_first(client, posts):
    found = search(client, "post number")

    assert [row["id"] for row in found] == [p.pk for p in posts["recent"][:SEARCH_MATCHES]]


def test_the_search_never_answers_another_workspaces_posts(client, workspace, posts):
    theirs = PostFactory(workspace=WorkspaceFactory(), reference="their-linen",
                         caption="Meet the linen shirt: made to last", external_id="17841-theirs")  # fmt: skip

    assert [row["id"] for row in search(client, "linen")] == [posts["archived"].pk]
    assert search(client, "their-linen") == search(client, "17841-theirs") == []
    # Their own member finds it, and not ours.
    theirs_client = client.__class__()
    theirs_client.force_login(MembershipFactory(workspace=theirs.workspace).user)
    assert [row["id"] for row in search(theirs_client, "linen")] == [theirs.pk]


def test_the_search_without_words_answers_the_newest_posts(client, posts):
    newest = [p.pk for p in posts["recent"][:SEARCH_MATCHES]]

    assert [row["id"] for row in search(client, "")] == newest
    assert [row["id"] for row in search(client, "   ")] == newest


def test_the_search_writes_a_captions_markup_escaped(client, workspace):
    post = PostFactory(workspace=workspace, caption="<b>Linen</b> & cotton")
    response = client.get("/analytics/posts/search/", {"q": "linen"})

    assert response.content.decode() == (
        f'{{"results": [{{"id": {post.pk}, "label": "Instagram \\u00b7 {post.reference} '
        '\\u00b7 Nov 1, 2026 \\u00b7 \\u003Cb\\u003ELinen\\u003C/b\\u003E \\u0026 cotton"}]}'
    )
    assert response.json()["results"][0]["label"] == post_label(post)


def test_the_search_refuses_what_it_cannot_answer(client, anon_client, workspace):
    refused = client.get("/analytics/posts/search/", {"q": "x" * 101})
    assert refused.status_code == 400
    assert refused.json() == {
        "detail": "q is at most 100 characters.",
        "code": "invalid",
        "fields": {"q": ["q is at most 100 characters."]},
    }
    assert client.post("/analytics/posts/search/", {"q": "linen"}).status_code == 405
    anonymous = anon_client.get("/analytics/posts/search/", {"q": "linen"})
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")


def test_the_kpi_picker_lists_the_recent_posts_and_the_kpis_own(client, workspace, posts):
    archived = posts["archived"]
    page = client.get("/analytics/kpis/").content.decode()
    assert [post_id for post_id, _, _ in options(page, "post")] == [
        p.pk for p in posts["recent"][:RECENT_POSTS]
    ]

    created = client.post("/analytics/kpis/", {
        "name": "Archive", "target": "500", "scope": "post", "post": str(archived.pk),
        "period": "month",
    })  # fmt: skip
    assert created.status_code == 302
    kpi = RevenueKPI.objects.get(workspace=workspace, name="Archive")
    assert kpi.post == archived

    editing = client.get(f"/analytics/kpis/?edit={kpi.pk}").content.decode()
    listed = options(editing, "post")
    assert len(listed) == RECENT_POSTS + 1
    assert listed[0] == (archived.pk, True, post_label(archived))


def test_a_kpi_naming_another_workspaces_post_is_refused_with_the_reason(client, posts):
    theirs = PostFactory(workspace=WorkspaceFactory())
    refused = client.post("/analytics/kpis/", {
        "name": "Theirs", "target": "500", "scope": "post", "post": str(theirs.pk),
        "period": "month",
    })  # fmt: skip

    assert refused.status_code == 400
    assert f"Post {theirs.pk} is not a post of this workspace." in refused.content.decode()
    assert not RevenueKPI.objects.filter(name="Theirs").exists()
