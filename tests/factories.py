import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from catalog.choices import SourceFormat, VersionStatus
from catalog.models import Dataset, DatasetVersion
from governance.choices import OwnershipRole
from governance.models import Ownership
from governance.services import access_token_issue


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.org")


class DatasetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dataset

    namespace = "team-vision"
    name = factory.Sequence(lambda n: f"dataset-{n}")
    description = "A dataset"


class OwnershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ownership

    dataset = factory.SubFactory(DatasetFactory)
    user = factory.SubFactory(UserFactory)
    role = OwnershipRole.OWNER


class VersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DatasetVersion
        skip_postgeneration_save = True

    dataset = factory.SubFactory(DatasetFactory)
    number = factory.Sequence(lambda n: n + 1)
    uri = "file:///nowhere/data.csv"
    format = SourceFormat.CSV
    status = VersionStatus.READY
    status_changed_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def make_latest(self, create, extracted, **kwargs):
        if create:
            Dataset.objects.filter(pk=self.dataset_id).update(latest_version=self)


def token_for(user, **options) -> str:  # type: ignore[no-untyped-def]
    """A new API key of a user (`Authorization: Token <key>`); `options` go to `access_token_issue`
    (`name`, `ttl`)."""
    return access_token_issue(user=user, **options).key
