import pytest

from governance.choices import OwnershipRole, Sensitivity
from tests.factories import DatasetFactory, OwnershipFactory, UserFactory, VersionFactory


def fingerprint(character: str) -> str:
    return "sha256:" + character * 64


@pytest.fixture
def versions(dataset):
    """Two ready versions of `owner`'s dataset, at two places with two fingerprints."""
    return [
        VersionFactory(dataset=dataset, number=1, uri="file:///data/signs/v1.csv", fingerprint=fingerprint("1")),
        VersionFactory(dataset=dataset, number=2, uri="file:///data/signs/v2.csv", fingerprint=fingerprint("2")),
    ]


@pytest.fixture
def secret_version(db):
    """A ready version of a restricted dataset that only its owner, `rita`, may read."""
    rita = UserFactory(username="rita-restricted")
    secret = DatasetFactory(namespace="hr", name="salaries", sensitivity=Sensitivity.RESTRICTED)
    OwnershipFactory(dataset=secret, user=rita, role=OwnershipRole.OWNER)
    return VersionFactory(dataset=secret, number=1, uri="file:///data/hr/salaries.csv", fingerprint=fingerprint("9"))
