import re
import uuid
from collections.abc import Iterable
from typing import Any, NoReturn

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from governance.choices import AuditRole, ChangeAction, ObjectType, OwnershipRole, Verdict

# An SPDX license id, or a custom one (LicenseRef-...): letters, digits, "." and "-" (SPDX 2.3, annex D).
license_id_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9.+-]*$", "A license id is letters, digits, '.', '+' and '-', such as CC-BY-4.0."
)
custom_license_id_validator = RegexValidator(
    r"^LicenseRef-[A-Za-z0-9.-]+$",
    "A custom license id is LicenseRef- followed by letters, digits, '.' and '-'.",
    flags=re.IGNORECASE,
)


def owner_entry(*, username: str | None, group_name: str | None, role: str) -> dict[str, str | None]:
    """Who answers for a dataset, as every reader shows it (the API, cards, the change log): the kind
    of principal, its name and its role. From an ownership's row or from its values alone."""
    if username is not None:
        return {"type": "user", "name": username, "role": role}
    return {"type": "group", "name": group_name, "role": role}


def grant_entry(*, principal_type: str, name: str) -> dict[str, str]:
    """A read grant as the change log records it: to whom, and what it allows."""
    return {"type": principal_type, "name": name, "access": "read"}


class NamesPrincipal:
    """For a row that names exactly one of a user or a group."""

    user_id: int | None
    user: Any
    group: Any

    @property
    def principal_type(self) -> str:
        return "user" if self.user_id else "group"

    @property
    def principal_name(self) -> str:
        if self.user_id:
            return self.user.get_username()
        return self.group.name


class AnswersFor(NamesPrincipal, models.Model):
    """A user or a group that answers for something (a dataset, a model) in a role; each concrete
    record names what it answers for and its own user and group keys."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    role = models.CharField(max_length=16, choices=OwnershipRole.choices, default=OwnershipRole.OWNER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.principal_name} ({self.role})"

    @property
    def entry(self) -> dict[str, str | None]:
        """This ownership as `owner_entry` shows it (with its user or group loaded, no query)."""
        name = self.principal_name
        return owner_entry(
            username=name if self.user_id else None, group_name=None if self.user_id else name, role=self.role
        )


def _answers_for_constraints(owned: str, prefix: str) -> list[models.BaseConstraint]:
    return [
        models.CheckConstraint(
            condition=Q(user__isnull=False, group__isnull=True) | Q(user__isnull=True, group__isnull=False),
            name=f"{prefix}_user_xor_group",
        ),
        models.UniqueConstraint(
            fields=[owned, "user", "role"], condition=Q(user__isnull=False), name=f"{prefix}_unique_user"
        ),
        models.UniqueConstraint(
            fields=[owned, "group", "role"], condition=Q(group__isnull=False), name=f"{prefix}_unique_group"
        ),
    ]


class Ownership(AnswersFor):
    """Who answers for a dataset: a user or a group, in a role."""

    dataset = models.ForeignKey("catalog.Dataset", on_delete=models.CASCADE, related_name="ownerships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="ownerships"
    )
    group = models.ForeignKey("auth.Group", null=True, blank=True, on_delete=models.PROTECT, related_name="ownerships")

    class Meta:
        ordering = ["dataset", "role", "created_at", "id"]
        constraints = _answers_for_constraints("dataset", "ownership")


class ModelOwnership(AnswersFor):
    """Who answers for a model: a user or a group, in a role, with the rules of a dataset's owners."""

    model = models.ForeignKey("training.Model", on_delete=models.CASCADE, related_name="ownerships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="model_ownerships"
    )
    group = models.ForeignKey(
        "auth.Group", null=True, blank=True, on_delete=models.PROTECT, related_name="model_ownerships"
    )

    class Meta:
        ordering = ["model", "role", "created_at", "id"]
        constraints = _answers_for_constraints("model", "model_ownership")


class IdempotencyRecord(models.Model):
    """The first answer to a POST sent with an `Idempotency-Key`, replayed when the client retries."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64, help_text="sha256 of method, path and body.")
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    response_location = models.CharField(max_length=2048, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_unique_user_key")]

    def __str__(self) -> str:
        return f"{self.key} ({self.user_id})"


class AccessGrant(NamesPrincipal, models.Model):
    """Read access to a restricted dataset for a user or a group that does not answer for it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    dataset = models.ForeignKey("catalog.Dataset", on_delete=models.CASCADE, related_name="access_grants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="access_grants"
    )
    group = models.ForeignKey(
        "auth.Group", null=True, blank=True, on_delete=models.CASCADE, related_name="access_grants"
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset", "created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, group__isnull=True) | Q(user__isnull=True, group__isnull=False),
                name="access_grant_user_xor_group",
            ),
            models.UniqueConstraint(
                fields=["dataset", "user"], condition=Q(user__isnull=False), name="access_grant_unique_user"
            ),
            models.UniqueConstraint(
                fields=["dataset", "group"], condition=Q(group__isnull=False), name="access_grant_unique_group"
            ),
        ]

    def __str__(self) -> str:
        return f"read: {self.principal_name}"

    @property
    def entry(self) -> dict[str, str]:
        """This grant as `grant_entry` records it (with its user or group loaded, no query)."""
        return grant_entry(principal_type=self.principal_type, name=self.principal_name)


class License(models.Model):
    """A license from the SPDX list, or a custom `LicenseRef-*` one, with what it allows and requires.

    A term is `None` when nobody has stated it; the audit never reads an unstated term as permission.
    """

    spdx_id = models.CharField(primary_key=True, max_length=128, validators=[license_id_validator])
    name = models.CharField(max_length=255)
    url = models.URLField(max_length=1024, blank=True, help_text="Where the license text is.")
    is_custom = models.BooleanField(default=False, help_text="A LicenseRef-* license, not on the SPDX list.")
    is_deprecated = models.BooleanField(default=False, help_text="SPDX deprecated this id.")
    superseded_by = models.CharField(max_length=128, blank=True, help_text="The id SPDX replaced a deprecated id by.")
    is_osi_approved = models.BooleanField(default=False)
    is_fsf_libre = models.BooleanField(default=False)

    commercial_use = models.BooleanField(null=True, blank=True, help_text="May be used for commercial purposes.")
    modification = models.BooleanField(null=True, blank=True, help_text="Adapted material may be made and shared.")
    redistribution = models.BooleanField(null=True, blank=True, help_text="Copies may be redistributed.")
    attribution = models.BooleanField(null=True, blank=True, help_text="Credit is required.")
    share_alike = models.BooleanField(
        null=True, blank=True, help_text="Shared adaptations must carry the same (or a compatible) license."
    )
    non_commercial = models.BooleanField(null=True, blank=True, help_text="Use is limited to non-commercial purposes.")
    no_derivatives = models.BooleanField(null=True, blank=True, help_text="Adapted material may not be shared.")
    use_restrictions = models.JSONField(default=list, blank=True, help_text="Restrictions on how it may be used.")
    summary = models.TextField(blank=True)
    attribution_requirements = models.TextField(blank=True, help_text="What the credit must contain.")
    share_alike_scope = models.TextField(blank=True, help_text="What must carry the same license.")
    terms_source = models.JSONField(
        default=dict, blank=True, help_text='Where the terms were read: {"url", "sections": {term: section}}.'
    )
    reviewed = models.BooleanField(default=False, help_text="The terms were checked against the legal text.")
    # Set when a person edits the terms; the bundled terms never overwrite them afterwards.
    terms_curated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    terms_curated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["spdx_id"]

    def __str__(self) -> str:
        return self.spdx_id

    @property
    def has_terms(self) -> bool:
        return self.commercial_use is not None


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> NoReturn:
        raise PermissionError("The change log is append-only: entries are never updated.")

    def delete(self) -> NoReturn:
        raise PermissionError("The change log is append-only: entries are never deleted.")

    def bulk_update(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PermissionError("The change log is append-only: entries are never updated.")


class Change(models.Model):
    """One change to a governed object: who, when, what, and the values before and after.

    Append-only: the model refuses updates and deletes, and on PostgreSQL a trigger refuses them too.
    `dataset_id` is a plain column, not a foreign key: a purged dataset keeps its history.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True, help_text="The username at the time of the change.")
    action = models.CharField(max_length=16, choices=ChangeAction.choices)
    object_type = models.CharField(max_length=16, choices=ObjectType.choices)
    object_id = models.CharField(max_length=255)
    object_repr = models.CharField(max_length=512, blank=True)
    dataset_id = models.UUIDField(null=True, blank=True, db_index=True, help_text="The dataset the object belongs to.")
    before = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    request_id = models.CharField(max_length=128, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="change_object_idx"),
            models.Index(fields=["actor_name", "created_at"], name="change_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type} {self.object_repr or self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("The change log is append-only: entries are never updated.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PermissionError("The change log is append-only: entries are never deleted.")


class Audit(models.Model):
    """A pre-training audit: what a training run will read, for what use, and what that requires.

    The report is stored whole, with the exact versions, fingerprints and licenses it saw, and is
    never changed afterwards (the model refuses it; on PostgreSQL a trigger too): running it again
    makes a new audit.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rerun_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reruns")
    training_run = models.ForeignKey(
        "training.TrainingRun",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audits",
        help_text="The training run audited, when the audit is of a run or a model.",
    )
    purpose = models.JSONField(help_text="commercial, distribute_model, distribute_data.")
    requested = models.JSONField(help_text="What was asked for: each dataset and the version, if pinned.")
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    findings = models.JSONField(default=list)
    attributions = models.JSONField(default=list)
    obligations = models.JSONField(default=list)
    checked = models.JSONField(default=list, help_text="Every dataset and version seen, as it was then.")
    counts = models.JSONField(default=dict)
    request_id = models.CharField(max_length=128, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"audit {self.created_at:%Y-%m-%d %H:%M} ({self.verdict})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("An audit report is immutable; run it again to get a new one.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PermissionError("An audit report is immutable; it is never deleted.")


class AuditSubject(models.Model):
    """A dataset (and version) an audit checked: how the audits that included a dataset are found,
    and, for an audit run by someone who answers for the dataset (or staff), what keeps it from being
    purged.

    An audit by anyone else does not hold the dataset: purging it empties `dataset` and `version`
    (the only change the database allows to these rows), and the audit's report keeps what it saw
    in `checked`. Otherwise any reader could keep any dataset they may see from ever being purged.
    PROTECT still: nothing but the purge unlinks an audit."""

    audit = models.ForeignKey(Audit, on_delete=models.PROTECT, related_name="subjects")
    dataset = models.ForeignKey(
        "catalog.Dataset", null=True, blank=True, on_delete=models.PROTECT, related_name="audit_subjects"
    )
    version = models.ForeignKey(
        "catalog.DatasetVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="audit_subjects"
    )
    role = models.CharField(max_length=16, choices=AuditRole.choices)

    class Meta:
        ordering = ["audit", "role", "id"]
        constraints = [models.UniqueConstraint(fields=["audit", "dataset"], name="audit_subject_unique")]

    def __str__(self) -> str:
        return f"{self.audit_id}: {self.dataset_id} ({self.role})"


class StorageLocation(models.Model):
    """A place sources are registered from (a storage root, a prefix under one, or an object-store
    prefix) and who may register from it.

    Each storage root is a location open to every authenticated user until staff create one for it;
    a location for a prefix narrows who may register under it: the most specific location covering
    a path decides. Staff may register anywhere inside the roots.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    uri = models.CharField(
        max_length=1024,
        unique=True,
        help_text="`file:///abs/path` (a storage root or a folder under one) or an object-store prefix "
        "such as `s3://bucket/prefix`; matched on whole path segments.",
    )
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="storage_locations", help_text="Who may register here."
    )
    groups = models.ManyToManyField(
        "auth.Group", blank=True, related_name="storage_locations", help_text="Groups whose members may register here."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["uri"]

    def __str__(self) -> str:
        return self.uri


class NamespaceQuerySet(models.QuerySet["Namespace"]):
    def closed_to(self, user: Any, names: Iterable[str]) -> set[str]:
        """Those of these namespace names in which the user may not create datasets: the ones staff
        gave a record (and so owners) that does not name the user or a group of theirs. Namespaces
        without a record stay open to everyone."""
        wanted = set(names)
        if not wanted or getattr(user, "is_staff", False):
            return set()
        governed = set(self.filter(name__in=wanted).values_list("name", flat=True))
        if not governed or not getattr(user, "is_authenticated", False):
            return governed
        mine = self.filter(Q(users=user) | Q(groups__user=user), name__in=governed).values_list("name", flat=True)
        return governed - set(mine)


class Namespace(models.Model):
    """A namespace with owners: only they (and staff) create datasets in it, by registration or lineage."""

    id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=255, unique=True)
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="owned_namespaces")
    groups = models.ManyToManyField("auth.Group", blank=True, related_name="owned_namespaces")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = NamespaceQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class GroupProfile(models.Model):
    """What the catalog keeps of a group beside its members: a description, and its owners, the users
    who manage its members (besides staff). A group without one (made in the admin, say) is managed
    by staff alone. Owning a group is not being in it: an owner who is no member gets none of what
    the group is granted."""

    group = models.OneToOneField("auth.Group", primary_key=True, on_delete=models.CASCADE, related_name="profile")
    description = models.TextField(blank=True)
    owners = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="owned_groups",
        help_text="Who adds and removes the group's members, besides staff.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["group__name"]

    def __str__(self) -> str:
        return f"profile of {self.group_id}"


class AccessToken(models.Model):
    """An API key of a user, kept only as its SHA-256 digest: the key itself is shown once, when it is
    issued. `prefix` (the key's first characters) finds the candidate rows; the digest decides.

    `password_digest` is a digest of the user's password hash when the token was issued: a changed
    password no longer matches it, and the token stops working (as Django does for sessions)."""

    PREFIX_LENGTH = 12

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_tokens")
    name = models.CharField(max_length=100, blank=True, help_text="What the token is for, to tell tokens apart.")
    prefix = models.CharField(max_length=PREFIX_LENGTH, db_index=True, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    password_digest = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: the token does not expire.")
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        label = f" ({self.name})" if self.name else ""
        return f"{self.prefix}…{label}"
