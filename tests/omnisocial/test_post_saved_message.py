"""Saving a post says how many tracked links it has, as many as the page lists: a link added on
its own (posts/<id>/links/) counts though the save tagged only the caption's."""

from tests.factories import PostFactory
from tests.omnisocial.test_setup_pages import SHOP, messages_of


def test_the_saved_message_counts_every_link_the_page_lists(client, workspace):
    from attribution.services import domain_allow

    domain_allow(workspace=workspace, domain=SHOP.removeprefix("https://"))
    post = PostFactory(workspace=workspace, caption=f"New scarves {SHOP}/products/scarf")
    response = client.post(f"/posts/{post.pk}/links/", {"url": f"{SHOP}/collections/scarves"})
    assert response.status_code == 302
    response = client.post(f"/posts/{post.pk}/edit/", {
        "platform": post.platform, "caption": post.caption, "content_type": post.content_type,
        "external_id": post.external_id,
    }, follow=True)  # fmt: skip
    assert post.links.count() == 2
    [saved] = [note for note in messages_of(response) if note.startswith("Saved.")]
    assert saved.startswith("Saved. 2 tracked links")
