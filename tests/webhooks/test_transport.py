"""URL confinement and the pinned POST, against a real HTTP(S) receiver on loopback."""

import socket
import ssl

import pytest
import trustme

from tests.webhooks.receiver import Receiver
from webhooks import transport
from webhooks.delivery import retried, retry_delay
from webhooks.signing import signature_header

SECRET = "whsec-0123456789abcdef"


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.org/hook",
        "gopher://example.org/",
        "http://example.org/hook",  # http only where private receivers are allowed
        "https://user:pass@example.org/hook",
        "https://token@example.org/hook",
        "https:///no-host",
        "https://example.org:99999/hook",
        "https://example.org:0/hook",
        "https://exa mple.org/hook",
        "https://example.org/\x00hook",
        "https://example.org/" + "a" * 3000,
        "javascript:alert(1)",
        "",
    ],
)
def test_it_rejects_urls_of_the_wrong_form(url):
    with pytest.raises(transport.UrlRefused):
        transport.url_checked(url, allow_private=False)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[::ffff:7f00:1]/hook",
        "https://[64:ff9b::a00:1]/hook",  # NAT64 of 10.0.0.1
        "https://[2002:a00:1::]/hook",  # 6to4 of 10.0.0.1
        "https://10.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://0.0.0.0/hook",
        "https://2130706433/hook",  # 127.0.0.1 as one number
        "https://0x7f.1/hook",
        "https://127.1/hook",
        "https://[fe80::1]/hook",
        "https://100.64.0.1/hook",
    ],
)
def test_it_rejects_private_loopback_and_reserved_addresses(url):
    with pytest.raises((transport.UrlRefused, transport.DeliveryError)) as refused:
        transport.url_vet(url, allow_private=False)
    assert "CATALOG_WEBHOOK_ALLOW_PRIVATE_URLS" in str(refused.value) or "cannot be resolved" in str(refused.value)


def test_it_does_not_tell_the_private_address_a_name_resolves_to():
    with pytest.raises(transport.UrlRefused) as refused:
        transport.url_vet("https://localhost:8443/hook", allow_private=False)
    assert "127.0.0.1" not in str(refused.value)
    assert "::1" not in str(refused.value)


def test_it_allows_private_receivers_and_http_only_when_told():
    target = transport.url_vet("http://127.0.0.1:8123/hook?x=1", allow_private=True)

    assert target.addresses == ("127.0.0.1",)
    assert target.request_path == "/hook?x=1"
    assert target.host_header == "127.0.0.1:8123"
    assert target.shown == "http://127.0.0.1:8123/hook"  # the query (a token, perhaps) is not shown


def test_it_says_a_host_that_does_not_resolve_may_pass():
    with pytest.raises(transport.DeliveryError, match="cannot be resolved"):
        transport.url_vet("https://no-such-host.invalid/hook", allow_private=False)


def test_it_connects_to_the_vetted_address_not_to_a_new_dns_answer():
    # The name is never resolved again: the POST goes to the address vetted, with the name as Host.
    with Receiver(secret=SECRET) as receiver:
        port = receiver.server.server_address[1]
        target = transport.Target(
            shown="https://rebinding.example/hook",
            scheme="http",
            hostname="rebinding.example",
            port=port,
            host_header=f"rebinding.example:{port}",
            request_path="/hook",
            addresses=("127.0.0.1",),
        )
        answer = transport.post(
            target, b"{}", {"Catalog-Signature": "t=1,v1=0"}, connect_timeout=2, read_timeout=2, max_response_bytes=10
        )

    assert answer.status == 400  # the receiver's answer to a bad signature
    assert receiver.received[0].headers["Host"] == f"rebinding.example:{port}"


def test_it_reads_at_most_the_bytes_allowed_and_follows_no_redirect():
    with Receiver(secret=SECRET, statuses=[302]) as receiver:
        target = transport.url_vet(receiver.url, allow_private=True)
        signed = {"Catalog-Signature": signature_header(SECRET, b"{}")}
        answer = transport.post(target, b"{}", signed, connect_timeout=2, read_timeout=2, max_response_bytes=100)

    assert answer.status == 302
    assert len(answer.excerpt) == 100
    assert len(receiver.received) == 1  # the Location was not followed


def test_it_gives_up_on_a_receiver_that_does_not_answer_in_time():
    with Receiver(secret=SECRET, delay=2) as receiver:
        target = transport.url_vet(receiver.url, allow_private=True)
        with pytest.raises(transport.DeliveryError, match="did not answer"):
            transport.post(target, b"{}", {}, connect_timeout=1, read_timeout=0.5, max_response_bytes=100)


def test_it_says_a_refused_connection_is_no_answer():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    target = transport.url_vet(f"http://127.0.0.1:{port}/hook", allow_private=True)

    with pytest.raises(transport.DeliveryError, match="Could not connect"):
        transport.post(target, b"{}", {}, connect_timeout=1, read_timeout=1, max_response_bytes=100)


def test_it_verifies_the_receivers_certificate_for_its_name(tmp_path):
    authority = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert("localhost").configure_cert(context)
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    with Receiver(secret=SECRET, context=context) as receiver:
        target = transport.url_vet(receiver.url, allow_private=True)
        trusted = transport.post(
            target, b"{}", {}, connect_timeout=2, read_timeout=2, max_response_bytes=10, ca_certs=str(bundle)
        )
        with pytest.raises(transport.DeliveryError, match="TLS"):
            transport.post(target, b"{}", {}, connect_timeout=2, read_timeout=2, max_response_bytes=10)

    assert trusted.status == 400  # reached over verified TLS; the receiver refused the fake signature
    assert receiver.received[0].headers["Host"].startswith("localhost:")


def test_it_retries_with_exponential_backoff_up_to_a_cap():
    assert [retry_delay(attempt, base=30, cap=3600) for attempt in range(1, 10)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]


def test_it_retries_only_statuses_that_may_pass():
    assert [
        status for status in (200, 301, 400, 401, 404, 408, 409, 410, 422, 429, 500, 502, 503) if retried(status)
    ] == [
        408,
        429,
        500,
        502,
        503,
    ]
