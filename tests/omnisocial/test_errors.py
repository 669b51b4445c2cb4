"""Unknown URLs: the API's error shape for API clients, a page for browsers, no URL map in
either."""

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_an_unknown_url_answers_json_to_an_api_client(client):
    for accept in ("application/json", "*/*"):
        response = client.get("/api/campaigns/not-a-number", HTTP_ACCEPT=accept)
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_an_unknown_url_answers_a_page_to_a_browser_without_the_url_patterns(client):
    response = client.get("/analytics/nowhere/", HTTP_ACCEPT=BROWSER)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert b"Not found" in response.content
    assert b"URLPattern" not in response.content
    assert b"tried" not in response.content
