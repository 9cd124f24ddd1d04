"""How often the reads of an object store are tried, against the local S3 server behind a real
throttling proxy (tests/throttling_proxy.py): CATALOG_OBJECT_RETRY_ATTEMPTS tries of each request,
spread out by backoff; a call s3fs makes again (an answer cut off while read, or all its tries
throttled) at most once; then a SourceError naming the throttling."""

from __future__ import annotations

import collections

import pytest

from profiler.faults import SourceError
from profiler.objects import S3_CALLS, RemoteObject, filesystem, remote_hash, store_faults
from tests.object_store import GCS_BUCKET, UNVERSIONED
from tests.throttling_proxy import ThrottlingProxy

pytestmark = pytest.mark.django_db

DATA = b"species,island\nAdelie,Torgersen\nGentoo,Biscoe\n"


@pytest.fixture
def key(object_store) -> str:
    object_store.put(UNVERSIONED, "retries/penguins.csv", DATA)
    return f"{UNVERSIONED}/retries/penguins.csv"


@pytest.mark.parametrize("attempts", [1, 3])
def test_a_request_throttled_for_ever_is_tried_the_attempts_it_is_given_then_named(
    object_store, key, monkeypatch, attempts
):
    with ThrottlingProxy(object_store.url, throttled=None) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        fs = filesystem("s3", retry_attempts=attempts)
        with pytest.raises(SourceError) as listed, store_faults(f"s3://{key}", protocol="s3", retry_attempts=attempts):
            fs.find(key.rpartition("/")[0], detail=True)
        listing = proxy.slowed_down
        with pytest.raises(SourceError) as asked, store_faults(f"s3://{key}", protocol="s3", retry_attempts=attempts):
            fs.info(key)

    # A listing is a call s3fs makes again once botocore gave up on it; a HEAD is not.
    assert listing == attempts * S3_CALLS
    assert proxy.slowed_down - listing == attempts
    for fault in (listed.value, asked.value):
        assert "kept throttling" in str(fault)
        assert f"{attempts} attempts" in str(fault)
        assert "CATALOG_OBJECT_RETRY_ATTEMPTS" in str(fault)


@pytest.mark.parametrize("attempts", [1, 2])
def test_a_gcs_request_throttled_for_ever_is_tried_the_attempts_it_is_given(gcs_store, monkeypatch, attempts):
    """gcsfs's own retries are six whatever it is told; the catalog's filesystem tries as often as it is asked."""
    gcs_store.put(GCS_BUCKET, "retries/penguins.csv", DATA)
    with ThrottlingProxy(gcs_store.url, throttled=None) as proxy:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", proxy.url)
        fs = filesystem("gcs", retry_attempts=attempts)
        with (
            pytest.raises(SourceError) as asked,
            store_faults(f"gs://{GCS_BUCKET}", protocol="gcs", retry_attempts=attempts),
        ):
            fs.info(f"{GCS_BUCKET}/retries/penguins.csv")

    # gcsfs asks for the object and lists its folder, side by side: the request whose last try failed
    # the call was tried `attempts` times, and neither more (the other may be cut short by that failure).
    tries = collections.Counter((method, path) for _at, method, path, _status in proxy.answered)
    assert tries
    assert max(tries.values()) == attempts, tries
    assert proxy.slowed_down == len(proxy.answered)
    assert "CATALOG_OBJECT_RETRY_ATTEMPTS" in str(asked.value)


def test_a_read_throttled_for_a_while_goes_through_after_backoff(object_store, key, monkeypatch):
    with ThrottlingProxy(object_store.url, throttled=4) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        remote = RemoteObject(protocol="s3", key=key, size=len(DATA), retry_attempts=6)

        size, _digest = remote_hash(remote, "penguins.csv")

    assert size == len(DATA)
    assert proxy.slowed_down == 4
    times = [at for at, _method, _path, _status in proxy.answered]
    # Backoff: rand(0, 1) * 2**try seconds between tries; four of them are not all instant.
    assert times[4] - times[0] > 0.05
