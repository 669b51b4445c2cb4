"""`post_saved`: the shared core announces every saved post, inside the save's transaction, and
attribution tags the post's links on it (docs/architecture.md, "Layers")."""

import pytest

from attribution.models import TrackedLink
from attribution.services import domain_allow
from omnisocial import services
from omnisocial.models import Post
from omnisocial.signals import post_saved
from tests.factories import PostFactory


@pytest.fixture
def heard():
    """What a listener of `post_saved` hears: (sender, post id, reference, links at that time)."""
    calls = []

    def listen(sender, post, **kwargs):
        calls.append((sender, post.pk, post.reference, post.links.count()))

    post_saved.connect(listen, dispatch_uid="tests.post_saved")
    yield calls
    post_saved.disconnect(dispatch_uid="tests.post_saved")


def test_creating_and_editing_a_post_announce_it_once_each_with_its_reference(workspace, heard):
    post = PostFactory(workspace=workspace)
    services.post_save(workspace=workspace, post=post, caption="Edited")
    assert heard == [
        (Post, post.pk, f"post-{post.pk}", 0),
        (Post, post.pk, f"post-{post.pk}", 0),
    ]


def test_a_post_refused_before_its_save_is_not_announced(workspace, heard):
    with pytest.raises(Exception, match="platform"):
        services.post_save(workspace=workspace, caption="No platform")
    assert heard == []


def test_the_links_are_tagged_before_post_save_returns(workspace):
    """Attribution's receiver, connected in its AppConfig.ready, tags on the signal."""
    domain_allow(workspace=workspace, domain="shop.example")
    post = PostFactory(
        workspace=workspace, caption="New: https://shop.example/p/1 and https://x.example/"
    )
    assert [link.destination_url for link in post.links.all()] == ["https://shop.example/p/1"]
    assert [url for url, _reason in post.tagging.refused] == ["https://x.example/"]


def test_a_listener_that_fails_rolls_the_post_back(workspace):
    """The signal is sent inside the save's transaction: a post is never kept untagged."""

    def fail(sender, post, **kwargs):
        raise RuntimeError("tagging failed")

    post_saved.connect(fail, dispatch_uid="tests.post_saved_fails")
    try:
        with pytest.raises(RuntimeError, match="tagging failed"):
            services.post_save(workspace=workspace, platform="instagram", caption="Lost")
    finally:
        post_saved.disconnect(dispatch_uid="tests.post_saved_fails")
    assert not Post.objects.filter(workspace=workspace).exists()
    assert not TrackedLink.objects.exists()
