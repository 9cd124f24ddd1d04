"""The Catalog-Signature header: a timestamped HMAC-SHA256 of the body, checked in constant time."""

import hashlib
import hmac

from webhooks.signing import signature_header, signature_verify

SECRET = "whsec-0123456789abcdef"
BODY = b'{"event":"version.ready","id":"1","created_at":"2026-01-01T00:00:00Z","data":{}}'


def test_it_signs_the_timestamp_and_the_body_with_hmac_sha256():
    header = signature_header(SECRET, BODY, timestamp=1_700_000_000)

    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_it_verifies_its_own_signature_within_the_window():
    header = signature_header(SECRET, BODY, timestamp=1_700_000_000)

    assert signature_verify(SECRET, header, BODY, now=1_700_000_000 + 299)
    assert signature_verify(SECRET, header, BODY, now=1_700_000_000 - 10)


def test_it_rejects_a_replay_outside_the_window():
    header = signature_header(SECRET, BODY, timestamp=1_700_000_000)

    assert not signature_verify(SECRET, header, BODY, now=1_700_000_000 + 301)


def test_it_rejects_a_changed_body_another_secret_or_a_moved_timestamp():
    header = signature_header(SECRET, BODY, timestamp=1_700_000_000)
    moved = header.replace("t=1700000000", "t=1700000001")

    assert not signature_verify(SECRET, header, BODY + b" ", now=1_700_000_000)
    assert not signature_verify("another-secret-of-16+", header, BODY, now=1_700_000_000)
    assert not signature_verify(SECRET, moved, BODY, now=1_700_000_000)


def test_it_rejects_malformed_headers():
    for header in ["", "t=,v1=", "v1=abc", "t=1700000000", "t=17e8,v1=00", "t=1700000000,v1=é" * 3]:
        assert not signature_verify(SECRET, header, BODY, now=1_700_000_000), header


def test_it_accepts_any_of_several_signatures_while_a_secret_rotates():
    header = signature_header(SECRET, BODY, timestamp=1_700_000_000)
    rotated = header.replace("v1=", "v1=" + "0" * 64 + ",v1=")

    assert signature_verify(SECRET, rotated, BODY, now=1_700_000_000)
