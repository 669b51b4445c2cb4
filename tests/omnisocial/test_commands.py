import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from omnisocial.models import ApiKey, Membership, Post, PostMetrics, Workspace


@pytest.mark.django_db
def test_create_workspace_makes_the_owner_and_prints_the_key_once(capsys):
    call_command(
        "create_workspace", "Acme Shoes", "--owner", "Owner@Acme.example", "--password", "s3cret!",
        "--currency", "eur", "--time-zone", "Europe/Paris", "--api-key",
    )  # fmt: skip
    out = capsys.readouterr().out
    workspace = Workspace.objects.get(slug="acme-shoes")
    assert (workspace.reporting_currency, workspace.time_zone) == ("EUR", "Europe/Paris")
    user = get_user_model().objects.get(username="owner@acme.example")
    assert user.check_password("s3cret!")
    assert Membership.objects.get(user=user).role == "owner"
    raw_key = out.split("API key (shown once, store it now): ")[1].strip()
    key = ApiKey.objects.get(workspace=workspace)
    assert raw_key.startswith(f"osk_{key.prefix}_")
    assert key.key_hash == ApiKey.hash_secret(raw_key) and raw_key not in key.key_hash


@pytest.mark.django_db
def test_create_workspace_refuses_a_duplicate_name():
    call_command("create_workspace", "Acme", "--owner", "a@example.com")
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_workspace", "acme", "--owner", "b@example.com")
    assert Workspace.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--owner", "not-an-email"], "valid email"),
        (["--owner", "a@example.com", "--time-zone", "Mars/Olympus"], "IANA time zone"),
        (["--owner", "a@example.com", "--currency", "DOLLARS"], "ISO 4217"),
    ],
)
def test_create_workspace_explains_bad_input(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_workspace", "Acme", *args)
    assert not Workspace.objects.exists()


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_the_demo_login_sees_the_posts(anon_client):
    call_command("seed_demo")
    counts = (Post.objects.count(), PostMetrics.objects.count())
    call_command("seed_demo")
    assert (Post.objects.count(), PostMetrics.objects.count()) == counts
    assert counts[0] == 36 and counts[1] > 36

    assert anon_client.login(username="demo@example.com", password="demo")
    response = anon_client.get("/posts/")
    assert response.status_code == 200
    assert response.content.count(b'class="badge instagram"') == 12
