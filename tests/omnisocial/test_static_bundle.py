"""plotly.js, 4.8 MB, reaches browsers compressed: `make install` prepares gzip (and Brotli)
siblings of the installed package's bundle, and the static files answer with them."""

import gzip

import pytest
from django.test import Client

from omnisocial import static_bundle

pytestmark = pytest.mark.django_db


def test_the_prepared_bundle_decompresses_to_the_packages_own(tmp_path):
    assert static_bundle.prepared_dir(tmp_path) is None
    written = static_bundle.prepare(tmp_path)
    assert tmp_path / "plotly.min.js.gz" in written
    original = (static_bundle.PACKAGE_DIR / "plotly.min.js").read_bytes()
    assert gzip.decompress((tmp_path / "plotly.min.js.gz").read_bytes()) == original
    assert static_bundle.prepared_dir(tmp_path) == tmp_path
    # Another plotly version's copy is not used.
    for marker in tmp_path.glob(".plotly-*"):
        marker.rename(tmp_path / ".plotly-0.0.0")
    assert static_bundle.prepared_dir(tmp_path) is None


def test_the_pages_get_plotly_compressed():
    assert static_bundle.prepared_dir(), "`make install` prepares the compressed bundle"
    response = Client().get("/static/plotly/plotly.min.js", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    body = b"".join(response.streaming_content)
    assert len(body) < 2_000_000
    original = (static_bundle.PACKAGE_DIR / "plotly.min.js").read_bytes()
    assert gzip.decompress(body) == original
    plain = Client().get("/static/plotly/plotly.min.js")
    assert "Content-Encoding" not in plain


def test_the_chart_pages_load_the_partial_bundle_kept_for_good(client):
    """Bars and lines only: plotly.js's own partial bundle of the same version, a quarter of the
    full one's bytes, under a versioned name served as immutable."""
    path = static_bundle.script_path()
    version = static_bundle.plotly_js_version()
    assert path == f"plotly/plotly-basic-{version}.min.js", "`make install` fetched it"
    response = Client().get(f"/static/{path}", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200 and response["Content-Encoding"] == "gzip"
    body = gzip.decompress(b"".join(response.streaming_content))
    assert f"plotly.js (basic - minified) v{version}".encode() in body[:300]
    assert len(b"".join(Client().get(f"/static/{path}", HTTP_ACCEPT_ENCODING="gzip")
                        .streaming_content)) < 500_000  # fmt: skip
    assert "immutable" in response["Cache-Control"]
    full = Client().get("/static/plotly/plotly.min.js")
    assert "immutable" not in full.get("Cache-Control", "")
    page = client.get("/analytics/revenue/").content.decode()
    assert f'<script src="/static/{path}" defer></script>' in page
