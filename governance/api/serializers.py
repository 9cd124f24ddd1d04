from typing import Any

from django.contrib.auth.models import Group, User
from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.api.fields import StrictCharField
from config.api.serializers import StrictModelSerializer, StrictSerializer
from governance.choices import OwnershipRole, PrincipalType
from governance.models import (
    AccessGrant,
    Change,
    GroupProfile,
    License,
    Namespace,
    StorageLocation,
    custom_license_id_validator,
)
from governance.services import GroupNameInvalid, group_name_checked


class LicenseSourceSerializer(StrictSerializer):
    url = serializers.URLField(help_text="The legal text the terms were read from.")
    sections = serializers.DictField(
        child=serializers.CharField(), required=False, help_text="Term -> the section of the text that states it."
    )


class LicenseTermsSerializer(serializers.Serializer):
    commercial_use = serializers.BooleanField(allow_null=True, help_text="May be used for commercial purposes.")
    modification = serializers.BooleanField(allow_null=True, help_text="Adapted material may be made and shared.")
    redistribution = serializers.BooleanField(allow_null=True, help_text="Copies may be redistributed.")
    attribution = serializers.BooleanField(allow_null=True, help_text="Credit is required.")
    share_alike = serializers.BooleanField(
        allow_null=True, help_text="Shared adaptations must carry the same or a compatible license."
    )
    non_commercial = serializers.BooleanField(allow_null=True, help_text="Use is limited to non-commercial purposes.")
    no_derivatives = serializers.BooleanField(allow_null=True, help_text="Adapted material may not be shared.")
    use_restrictions = serializers.ListField(child=serializers.CharField(), help_text="Restrictions on use.")


class LicenseSerializer(serializers.ModelSerializer):
    url = serializers.CharField(read_only=True, help_text="Where the license text is; empty when not known.")
    terms = LicenseTermsSerializer(
        read_only=True, source="*", help_text="A null term is one nobody has stated; it is never read as allowed."
    )
    terms_source = serializers.SerializerMethodField()
    terms_curated_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = License
        fields = [
            "spdx_id",
            "name",
            "url",
            "is_custom",
            "is_deprecated",
            "superseded_by",
            "is_osi_approved",
            "is_fsf_libre",
            "terms",
            "summary",
            "attribution_requirements",
            "share_alike_scope",
            "terms_source",
            "reviewed",
            "terms_curated_by",
            "terms_curated_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(LicenseSourceSerializer(allow_null=True))
    def get_terms_source(self, license: License) -> dict | None:
        """Where the terms were read; null for a license whose terms nobody stated."""
        return license.terms_source or None


class _LicenseTermsInput(StrictSerializer):
    """What staff may state about a license; anything else in the body is refused."""

    representation = LicenseSerializer

    commercial_use = serializers.BooleanField(required=False, allow_null=True)
    modification = serializers.BooleanField(required=False, allow_null=True)
    redistribution = serializers.BooleanField(required=False, allow_null=True)
    attribution = serializers.BooleanField(required=False, allow_null=True)
    share_alike = serializers.BooleanField(required=False, allow_null=True)
    non_commercial = serializers.BooleanField(required=False, allow_null=True)
    no_derivatives = serializers.BooleanField(required=False, allow_null=True)
    use_restrictions = serializers.ListField(child=StrictCharField(max_length=1000), required=False, max_length=100)
    summary = StrictCharField(required=False, allow_blank=True, max_length=10_000)
    attribution_requirements = StrictCharField(required=False, allow_blank=True, max_length=10_000)
    share_alike_scope = StrictCharField(required=False, allow_blank=True, max_length=10_000)
    terms_source = LicenseSourceSerializer(required=False)
    reviewed = serializers.BooleanField(required=False, help_text="The terms were checked against the legal text.")


class LicenseCreateSerializer(_LicenseTermsInput):
    spdx_id = StrictCharField(max_length=128, validators=[custom_license_id_validator])
    name = StrictCharField(max_length=255)
    url = serializers.URLField(max_length=1024, required=False, allow_blank=True)


class LicenseUpdateSerializer(_LicenseTermsInput):
    name = StrictCharField(max_length=255, required=False, help_text="Custom licenses only.")
    url = serializers.URLField(max_length=1024, required=False, allow_blank=True, help_text="Custom licenses only.")


class OwnershipSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    type = serializers.ChoiceField(choices=PrincipalType.choices, source="principal_type", read_only=True)
    name = serializers.CharField(source="principal_name", read_only=True)
    role = serializers.ChoiceField(choices=OwnershipRole.choices, read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class _PrincipalSerializer(StrictSerializer):
    user = StrictCharField(required=False, max_length=150, help_text="A username.")
    group = StrictCharField(required=False, max_length=150, help_text="A group name.")

    def validate(self, attrs: dict) -> dict:
        if ("user" in attrs) == ("group" in attrs):
            raise serializers.ValidationError({"user": ["Name exactly one of a user or a group."]})
        if "user" in attrs:
            user = User.objects.filter(username=attrs["user"], is_active=True).first()
            if user is None:
                raise serializers.ValidationError({"user": [f"There is no active user {attrs['user']!r}."]})
            return {**attrs, "user": user}
        group = Group.objects.filter(name=attrs["group"]).first()
        if group is None:
            raise serializers.ValidationError({"group": [f"There is no group {attrs['group']!r}."]})
        return {**attrs, "group": group}


class OwnershipCreateSerializer(_PrincipalSerializer):
    representation = OwnershipSerializer
    role = serializers.ChoiceField(choices=OwnershipRole.choices, default=OwnershipRole.OWNER)


class AccessGrantSerializer(serializers.ModelSerializer):
    type = serializers.ChoiceField(choices=PrincipalType.choices, source="principal_type", read_only=True)
    name = serializers.CharField(source="principal_name", read_only=True)
    granted_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = AccessGrant
        fields = ["id", "type", "name", "granted_by", "created_at"]
        read_only_fields = fields


class AccessGrantCreateSerializer(_PrincipalSerializer):
    representation = AccessGrantSerializer


class ChangeSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(
        source="actor_name", read_only=True, help_text="The username; empty for the system (workers, loaders)."
    )
    dataset = serializers.UUIDField(source="dataset_id", read_only=True, allow_null=True)
    before = serializers.JSONField(read_only=True, allow_null=True, help_text="The changed fields before.")
    after = serializers.JSONField(read_only=True, allow_null=True, help_text="The changed fields after.")

    class Meta:
        model = Change
        fields = [
            "id",
            "actor",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "dataset",
            "before",
            "after",
            "request_id",
            "created_at",
        ]
        read_only_fields = fields


def _active_users(names: list[str]) -> list[User]:
    found = {user.username: user for user in User.objects.filter(username__in=names, is_active=True)}
    missing = sorted(set(names) - set(found))
    if missing:
        raise serializers.ValidationError(f"There is no active user {', '.join(map(repr, missing))}.")
    return list(found.values())


def _groups_named(names: list[str]) -> list[Group]:
    found = {group.name: group for group in Group.objects.filter(name__in=names)}
    missing = sorted(set(names) - set(found))
    if missing:
        raise serializers.ValidationError(f"There is no group {', '.join(map(repr, missing))}.")
    return list(found.values())


class StorageLocationSerializer(serializers.ModelSerializer):
    users: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", many=True, read_only=True, help_text="Who may register sources here."
    )
    groups: serializers.SlugRelatedField[Group] = serializers.SlugRelatedField(
        slug_field="name", many=True, read_only=True, help_text="Groups whose members may register sources here."
    )
    created_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = StorageLocation
        fields = ["id", "uri", "users", "groups", "created_by", "created_at", "updated_at"]
        read_only_fields = fields


class StorageLocationWriteSerializer(StrictSerializer):
    representation = StorageLocationSerializer

    uri = StrictCharField(
        max_length=1024,
        help_text="A storage root or a folder under one (`/srv/data/team`, `file:///srv/data/team`), or an "
        "object-store prefix (`s3://bucket/prefix`). Matched on whole path segments.",
    )
    users = serializers.ListField(
        child=StrictCharField(max_length=150), required=False, max_length=1000, help_text="Usernames."
    )
    groups = serializers.ListField(
        child=StrictCharField(max_length=150), required=False, max_length=1000, help_text="Group names."
    )

    def validate_users(self, names: list[str]) -> list[User]:
        return _active_users(names)

    def validate_groups(self, names: list[str]) -> list[Group]:
        return _groups_named(names)


# --- Namespaces ---------------------------------------------------------------------------------------


class NamespaceSerializer(StrictModelSerializer):
    users = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(is_active=True),
        many=True,
        required=False,
        help_text="Usernames of the namespace's owners.",
    )
    groups = serializers.SlugRelatedField(
        slug_field="name",
        queryset=Group.objects.all(),
        many=True,
        required=False,
        help_text="Names of the groups whose members own the namespace.",
    )

    class Meta:
        model = Namespace
        fields = ["id", "name", "users", "groups", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


# --- Groups ----------------------------------------------------------------------------------------


def _group_profile(group: Group) -> GroupProfile | None:
    try:
        return group.profile
    except GroupProfile.DoesNotExist:
        return None


class GroupSerializer(serializers.ModelSerializer):
    description = serializers.SerializerMethodField()
    owners = serializers.SerializerMethodField()
    members = serializers.SerializerMethodField()
    created_at = serializers.SerializerMethodField()
    updated_at = serializers.SerializerMethodField()

    class Meta:
        model = Group
        fields = ["id", "name", "description", "owners", "members", "created_at", "updated_at"]
        read_only_fields = fields

    def get_description(self, group: Group) -> str:
        profile = _group_profile(group)
        return profile.description if profile is not None else ""

    @extend_schema_field(
        serializers.ListField(
            child=serializers.CharField(), help_text="Usernames of who adds and removes members, besides staff."
        )
    )
    def get_owners(self, group: Group) -> list[str]:
        profile = _group_profile(group)
        return sorted(user.username for user in profile.owners.all()) if profile is not None else []

    @extend_schema_field(serializers.ListField(child=serializers.CharField(), help_text="Usernames."))
    def get_members(self, group: Group) -> list[str]:
        return sorted(user.username for user in group.user_set.all())

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_created_at(self, group: Group) -> Any:
        profile = _group_profile(group)
        return serializers.DateTimeField().to_representation(profile.created_at) if profile is not None else None

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_updated_at(self, group: Group) -> Any:
        profile = _group_profile(group)
        return serializers.DateTimeField().to_representation(profile.updated_at) if profile is not None else None


class _GroupWriteSerializer(StrictSerializer):
    """What staff say of a group; anything else in the body is refused, not ignored."""

    description = StrictCharField(required=False, allow_blank=True, max_length=10_000)
    owners = serializers.ListField(
        child=StrictCharField(max_length=150),
        required=False,
        max_length=1000,
        help_text="Usernames of who adds and removes members besides staff (the whole list).",
    )

    refusals: dict[str, str] = {}

    def to_internal_value(self, data):
        if isinstance(data, dict):
            refused = sorted(set(data) - set(self.fields))
            if refused:
                raise serializers.ValidationError(
                    {field: [self.refusals.get(field, "Not a field of a group.")] for field in refused}
                )
        return super().to_internal_value(data)

    def validate_owners(self, names: list[str]) -> list[User]:
        return _active_users(names)

    def validate_name(self, name: str) -> str:
        # The services' rule, asked here as well so that one answer names every mistake of the body.
        try:
            return group_name_checked(name)
        except GroupNameInvalid as exc:
            raise serializers.ValidationError(str(exc)) from None


_single_line = RegexValidator(r"^[^\x00-\x1f\x7f]+$", "Control characters (such as newlines) are not allowed.")


class GroupCreateSerializer(_GroupWriteSerializer):
    name = StrictCharField(max_length=150, validators=[_single_line])
    members = serializers.ListField(
        child=StrictCharField(max_length=150), required=False, max_length=10_000, help_text="Its first members."
    )

    def validate_members(self, names: list[str]) -> list[User]:
        return _active_users(names)


class GroupUpdateSerializer(_GroupWriteSerializer):
    name = StrictCharField(
        max_length=150, required=False, validators=[_single_line], help_text="Its grants and ownerships follow it."
    )

    refusals = {"members": "Members are added and removed one by one: POST or DELETE /api/v1/groups/{group}/members/."}


class GroupMemberSerializer(StrictSerializer):
    user = StrictCharField(max_length=150, help_text="A username.")

    def validate_user(self, value: str) -> User:
        user = User.objects.filter(username=value, is_active=True).first()
        if user is None:
            raise serializers.ValidationError(f"There is no active user {value!r}.")
        return user


# --- Tokens ---------------------------------------------------------------------------------------------


class TokenRequestSerializer(StrictSerializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})
    name = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="What the token is for, to tell your tokens apart.",
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(
        read_only=True, help_text="Send as `Authorization: Token <token>`. Shown only now: it is stored as a digest."
    )
    expires_at = serializers.DateTimeField(read_only=True, allow_null=True, help_text="Null: it does not expire.")
