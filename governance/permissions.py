"""Who may see and change a dataset or a model, decided from ownership records alone (no catalog
import); who may see a group. Models are visible to every authenticated user; their owners and
stewards (and staff) change them."""

from uuid import UUID

from django.contrib.auth.models import AnonymousUser, Group, User
from django.db.models import Exists, OuterRef, Q, QuerySet

from governance.choices import WRITING_ROLES
from governance.models import AccessGrant, ModelOwnership, Ownership


def _ownerships_of(user: User) -> QuerySet[Ownership]:
    # A join to the user's groups, not a nested IN: PostgreSQL plans it in two thirds of the time.
    return Ownership.objects.filter(Q(user=user) | Q(group__user=user))


def user_can_write_dataset(user: User | AnonymousUser, dataset_id: UUID) -> bool:
    """Owners and stewards (themselves or through a group) and staff change a dataset."""
    if not user.is_authenticated:
        return False
    if user.is_staff:
        return True
    return _ownerships_of(user).filter(dataset_id=dataset_id, role__in=WRITING_ROLES).exists()


def model_ownerships_of(user: User) -> QuerySet[ModelOwnership]:
    """The user's model ownerships, themselves or through a group."""
    return ModelOwnership.objects.filter(Q(user=user) | Q(group__user=user))


def user_can_write_model(user: User | AnonymousUser, model_id: UUID) -> bool:
    """Owners and stewards (themselves or through a group) and staff change a model and record its
    training runs; as for a dataset."""
    if not user.is_authenticated:
        return False
    if user.is_staff:
        return True
    return model_ownerships_of(user).filter(model_id=model_id, role__in=WRITING_ROLES).exists()


def user_sees_personal_data(user: User | AnonymousUser, dataset_id: UUID) -> bool:
    """Values of personal-data features are shown to the dataset's owners and stewards only: staff
    govern the catalog, they are not thereby entitled to the people in it."""
    if not user.is_authenticated:
        return False
    return _ownerships_of(user).filter(dataset_id=dataset_id, role__in=WRITING_ROLES).exists()


def user_reviews_dataset(user: User | AnonymousUser, dataset_id: UUID) -> bool:
    """Owners and stewards (themselves or through a group) judge a dataset's rows, such as the labels
    label quality flagged: a judgement on values staff as such may not even see unmasked."""
    if not user.is_authenticated:
        return False
    return _ownerships_of(user).filter(dataset_id=dataset_id, role__in=WRITING_ROLES).exists()


def answers_for_dataset(user: User, dataset_ref: str = "pk") -> Exists:
    """An `Exists` to annotate or filter a dataset queryset: the user (or a group of theirs) owns it."""
    return Exists(_ownerships_of(user).filter(dataset_id=OuterRef(dataset_ref)))


def may_read_restricted(user: User, dataset_ref: str = "pk") -> Q:
    """A filter on a dataset queryset: the user answers for the dataset, or was granted read on it
    (themselves or through a group)."""
    granted = AccessGrant.objects.filter(Q(user=user) | Q(group__user=user)).filter(dataset_id=OuterRef(dataset_ref))
    return Q(answers_for_dataset(user, dataset_ref)) | Q(Exists(granted))


def groups_visible_to(user: User | AnonymousUser) -> QuerySet[Group]:
    """The groups a user may see, with their members: staff every group, others the groups they are
    in or own. Who is in another group is not theirs to know."""
    groups = Group.objects.all()
    if not user.is_authenticated:
        return groups.none()
    if user.is_staff:
        return groups
    return groups.filter(pk__in=Group.objects.filter(Q(user=user) | Q(profile__owners=user)).values("pk"))
