import pytest

from commerce import selectors


@pytest.fixture(autouse=True)
def _webhook_store_cache_cleared():
    """The endpoint caches stores per process; rows of an earlier test must never be served."""
    selectors.webhook_stores_forget()
    yield
    selectors.webhook_stores_forget()
