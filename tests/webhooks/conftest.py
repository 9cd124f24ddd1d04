import pytest

from tests.webhooks.receiver import Receiver
from webhooks import services

SECRET = "whsec-test-0123456789abcdef"


@pytest.fixture
def private_receivers(settings):
    """Loopback receivers allowed, and no waiting between attempts."""
    settings.CATALOG_WEBHOOK_ALLOW_PRIVATE_URLS = True
    settings.CATALOG_WEBHOOK_RETRY_DELAY = 0.01
    settings.CATALOG_WEBHOOK_RETRY_MAX_DELAY = 0.02
    settings.CATALOG_WEBHOOK_MAX_ATTEMPTS = 3
    settings.CATALOG_WEBHOOK_CONNECT_TIMEOUT = 2
    settings.CATALOG_WEBHOOK_TIMEOUT = 2
    return settings


@pytest.fixture
def receiver(private_receivers):
    with Receiver(secret=SECRET) as running:
        yield running


@pytest.fixture
def webhook(staff, receiver):
    return services.webhook_create(
        actor=staff,
        url=receiver.url,
        events=[
            "version.ready",
            "version.failed",
            "version.source_changed",
            "audit.completed",
            "model.affected",
            "contract.failed",
        ],
        secret=SECRET,
    )
