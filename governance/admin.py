from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group, User
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html
from django.utils.safestring import SafeString

from catalog.admin_overview import changes_described
from catalog.templatetags.catalog_admin import json_block
from config.admin import CheckedActionsAdmin, ReadOnlyAdmin, ServiceDeleteAdmin
from governance import services
from governance.models import (
    AccessGrant,
    AccessToken,
    Change,
    GroupProfile,
    License,
    Namespace,
    Ownership,
    StorageLocation,
)


class PrincipalRecordAdmin(ServiceDeleteAdmin):
    """Who answers for a dataset, or may read it: added and removed through the services (checked,
    and in the change log), never edited in place. To change one, remove it and add another."""

    refusals = (services.LastOwner, services.OwnersOnly)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is None:
            return fields
        return (*fields, *(name for name in ("dataset", "user", "group", "role") if name not in fields))


@admin.register(Ownership)
class OwnershipAdmin(PrincipalRecordAdmin):
    list_display = ("dataset", "user", "group", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("dataset__namespace", "dataset__name", "user__username", "group__name")
    list_select_related = ("dataset", "user", "group")
    autocomplete_fields = ("dataset", "user", "group")

    def save_model(self, request: HttpRequest, obj: Ownership, form: Any, change: bool) -> None:
        if change:  # every field is read-only on an existing ownership
            return
        ownership, created = services.ownership_add(
            actor=request.user,  # type: ignore[arg-type]  # the admin has only signed-in staff
            dataset_id=obj.dataset_id,
            user=obj.user,
            group=obj.group,
            role=obj.role,
        )
        if not created:
            self.message_user(request, f"{ownership} was recorded already.", messages.WARNING)
        obj.pk = ownership.pk
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: Ownership) -> None:
        services.ownership_remove(actor=request.user, ownership=obj)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Ownership]) -> None:
        for ownership in queryset.order_by("role", "created_at"):
            services.ownership_remove(actor=request.user, ownership=ownership)  # type: ignore[arg-type]


@admin.register(AccessGrant)
class AccessGrantAdmin(PrincipalRecordAdmin):
    list_display = ("dataset", "user", "group", "granted_by", "created_at")
    search_fields = ("dataset__namespace", "dataset__name", "user__username", "group__name")
    list_select_related = ("dataset", "user", "group", "granted_by")
    autocomplete_fields = ("dataset", "user", "group")
    readonly_fields = ("granted_by", "created_at")

    def save_model(self, request: HttpRequest, obj: AccessGrant, form: Any, change: bool) -> None:
        if change:  # every field is read-only on an existing grant
            return
        grant, created = services.access_grant_add(
            actor=request.user,  # type: ignore[arg-type]
            dataset_id=obj.dataset_id,
            user=obj.user,
            group=obj.group,
        )
        if not created:
            self.message_user(request, f"{grant} was granted already.", messages.WARNING)
        obj.pk = grant.pk
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: AccessGrant) -> None:
        services.access_grant_remove(actor=request.user, grant=obj)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[AccessGrant]) -> None:
        for grant in queryset.select_related("user", "group"):
            services.access_grant_remove(actor=request.user, grant=grant)  # type: ignore[arg-type]


@admin.register(License)
class LicenseAdmin(admin.ModelAdmin):
    list_display = (
        "spdx_id",
        "name",
        "commercial_use",
        "share_alike",
        "non_commercial",
        "no_derivatives",
        "reviewed",
        "is_custom",
        "is_deprecated",
    )
    list_filter = ("reviewed", "is_custom", "is_deprecated", "commercial_use", "share_alike", "attribution")
    search_fields = ("spdx_id", "name")
    readonly_fields = (
        "is_deprecated",
        "superseded_by",
        "is_osi_approved",
        "is_fsf_libre",
        "terms_curated_by",
        "terms_curated_at",
        "created_at",
        "updated_at",
    )

    def get_readonly_fields(self, request: HttpRequest, obj: License | None = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields.append("spdx_id")
            if not obj.is_custom:
                fields += ["name", "url", "is_custom"]
        return fields

    def save_model(self, request: HttpRequest, obj: License, form: Any, change: bool) -> None:
        # Through the services, so the change log records it and the terms count as a person's.
        fields = {name: form.cleaned_data[name] for name in form.changed_data if name in form.cleaned_data}
        if change:
            fields = {name: value for name, value in fields.items() if name not in ("spdx_id", "is_custom")}
            services.license_update(actor=request.user, license=obj, **fields)  # type: ignore[arg-type]
        else:
            fields.pop("is_custom", None)
            fields.pop("spdx_id", None)
            services.license_create(actor=request.user, spdx_id=obj.spdx_id, **fields)  # type: ignore[arg-type]

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Change)
class ChangeAdmin(ReadOnlyAdmin):
    """The change log, to read: nothing here can be added, edited or deleted. Lineage edges are named
    by the datasets they join; the entries keep the ids."""

    list_display = ("created_at", "actor_name", "action", "object_type", "subject", "request_id")
    list_filter = ("action", "object_type")
    search_fields = ("object_id", "object_repr", "actor_name", "request_id")
    date_hierarchy = "created_at"
    fields = (
        "created_at",
        "actor_name",
        "action",
        "object_type",
        "subject",
        "object_id",
        "dataset_id",
        "before_shown",
        "after_shown",
        "request_id",
    )
    readonly_fields = fields

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        # The page's entries, named in two queries; the template then reads this same evaluated list.
        changes_described(list(changelist.result_list))
        return changelist

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        change = super().get_object(request, object_id, from_field)
        if change is not None:
            changes_described([change])
            # For the page's title, in memory only: an entry is never saved again.
            change.object_repr = change.subject
        return change

    @admin.display(description="Object", ordering="object_repr")
    def subject(self, change: Change) -> SafeString:
        return format_html('<span class="wrapped">{}</span>', getattr(change, "subject", None) or str(change))

    @admin.display(description="Before")
    def before_shown(self, change: Change) -> SafeString | str:
        return json_block(change.before) if change.before is not None else "—"

    @admin.display(description="After")
    def after_shown(self, change: Change) -> SafeString | str:
        return json_block(change.after) if change.after is not None else "—"


class StorageLocationForm(forms.ModelForm):
    class Meta:
        model = StorageLocation
        fields = ("uri", "users", "groups")

    def clean_uri(self) -> str:
        try:
            return services.storage_location_uri_checked(self.cleaned_data["uri"], other_than=self.instance)
        except (services.StorageLocationInvalid, services.StorageLocationExists) as exc:
            raise forms.ValidationError(str(exc)) from None


class ScopeAdmin(CheckedActionsAdmin):
    """Storage locations and namespaces, written through their services, so the change log records
    each with who it lets in."""

    key = ""  # the field that names one: a location's uri, a namespace's name
    filter_horizontal = ("users", "groups")

    def scope_write(self, actor: User, scope: Any, fields: dict[str, Any]) -> Any:
        """Create one (scope None) or change it; returns it."""
        raise NotImplementedError

    def scope_delete(self, actor: User, scope: Any) -> None:
        raise NotImplementedError

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # Saved in save_related, once the users and groups are known.
        pass

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        actor = cast(User, request.user)  # the admin has only signed-in staff
        data = form.cleaned_data
        fields = {self.key: data[self.key], "users": data["users"], "groups": data["groups"]}
        scope = self.scope_write(actor, form.instance if change else None, fields)
        form.instance.pk = scope.pk
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self.scope_delete(cast(User, request.user), obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for scope in queryset:
            self.scope_delete(cast(User, request.user), scope)


@admin.register(StorageLocation)
class StorageLocationAdmin(ScopeAdmin):
    """Who may register sources under a prefix; a root with no location here is open to everyone."""

    form = StorageLocationForm
    key = "uri"
    list_display = ("uri", "created_by", "created_at", "updated_at")
    search_fields = ("uri", "users__username", "groups__name")
    list_select_related = ("created_by",)
    readonly_fields = ("created_by", "created_at", "updated_at")

    def scope_write(self, actor: User, scope: StorageLocation | None, fields: dict[str, Any]) -> StorageLocation:
        if scope is None:
            return services.storage_location_create(actor=actor, **fields)
        return services.storage_location_update(actor=actor, location=scope, **fields)

    def scope_delete(self, actor: User, scope: StorageLocation) -> None:
        services.storage_location_delete(actor=actor, location=scope)


@admin.register(Namespace)
class NamespaceAdmin(ScopeAdmin):
    key = "name"
    list_display = ("name", "created_at", "updated_at")
    search_fields = ("name", "users__username", "groups__name")

    def scope_write(self, actor: User, scope: Namespace | None, fields: dict[str, Any]) -> Namespace:
        if scope is None:
            return services.namespace_create(actor=actor, **fields)
        return services.namespace_update(actor=actor, namespace=scope, **fields)

    def scope_delete(self, actor: User, scope: Namespace) -> None:
        services.namespace_delete(actor=actor, namespace=scope)


@admin.register(AccessToken)
class AccessTokenAdmin(CheckedActionsAdmin):
    """API tokens: listed by prefix, never by key (only a digest is kept). A token added here is shown
    once, on the page that follows."""

    list_display = ("prefix", "user", "name", "created_at", "expires_at", "last_used_at")
    list_select_related = ("user",)
    search_fields = ("user__username", "name", "prefix")
    autocomplete_fields = ("user",)
    date_hierarchy = "created_at"

    def get_fields(self, request: HttpRequest, obj: AccessToken | None = None) -> Any:
        if obj is None:
            return ("user", "name")
        return ("user", "name", "prefix", "created_at", "expires_at", "last_used_at")

    def get_readonly_fields(self, request: HttpRequest, obj: AccessToken | None = None) -> Any:
        if obj is None:
            return ()
        # Shortening a token's life is a change; moving it to another user is not.
        return ("user", "prefix", "created_at", "last_used_at")

    def save_model(self, request: HttpRequest, obj: AccessToken, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        issued = services.access_token_issue(user=obj.user, name=obj.name)
        for field in AccessToken._meta.concrete_fields:
            setattr(obj, field.attname, getattr(issued.token, field.attname))
        obj._state.adding = False
        request.issued_token_key = issued.key  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: AccessToken, post_url_continue: str | None = None
    ) -> HttpResponse:
        key = getattr(request, "issued_token_key", None)
        if key is None:
            return super().response_add(request, obj, post_url_continue)
        response = TemplateResponse(
            request,
            "admin/governance/accesstoken/issued.html",
            {
                **self.admin_site.each_context(request),
                "title": "Token issued",
                "token": obj,
                "key": key,
                "changelist_url": reverse("admin:governance_accesstoken_changelist"),
            },
        )
        add_never_cache_headers(response)
        return response


class GroupAdminForm(forms.ModelForm):
    """A group as the API describes it: its name, description, owners and members. Django's
    permissions are not offered: what a group may do in the catalog is what its ownerships and read
    grants say."""

    description = forms.CharField(required=False, max_length=10_000, widget=forms.Textarea(attrs={"rows": 3}))
    owners = forms.ModelMultipleChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("username"),
        required=False,
        widget=FilteredSelectMultiple("owners", is_stacked=False),
        help_text="Who adds and removes members besides staff. Owning a group grants nothing of its own.",
    )
    members = forms.ModelMultipleChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("username"),
        required=False,
        widget=FilteredSelectMultiple("members", is_stacked=False),
    )

    class Meta:
        model = Group
        fields = ("name",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            profile = GroupProfile.objects.filter(group=self.instance).first()
            self.fields["description"].initial = profile.description if profile is not None else ""
            self.fields["owners"].initial = list(profile.owners.all()) if profile is not None else []
            self.fields["members"].initial = list(self.instance.user_set.all())

    def clean_name(self) -> str:
        try:
            name = services.group_name_checked(self.cleaned_data["name"])
            services.group_name_free(name, other_than=self.instance)
        except (services.GroupNameInvalid, services.GroupExists) as exc:
            raise forms.ValidationError(str(exc)) from None
        return name

    def validate_unique(self) -> None:
        # clean_name compares ignoring case, as the service does; the exact check would only repeat it.
        pass


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(ServiceDeleteAdmin):
    """Groups through the same services as /api/v1/groups/: every change in the change log, and a
    group that answers for datasets is not deleted."""

    form = GroupAdminForm
    list_display = ("name", "member_count")
    search_fields = ("name",)
    ordering = ("name",)
    refusals = (services.GroupInUse,)

    @admin.display(description="members")
    def member_count(self, obj: Group) -> int:
        return obj.user_set.count()

    def save_model(self, request: HttpRequest, obj: Group, form: Any, change: bool) -> None:
        actor: User = request.user  # type: ignore[assignment]  # the admin has only signed-in staff
        data = form.cleaned_data
        if change:
            original = Group.objects.get(pk=obj.pk)
            group = services.group_update(
                actor=actor, group=original, name=data["name"], description=data["description"], owners=data["owners"]
            )
            wanted = {user.pk: user for user in data["members"]}
            current = {user.pk: user for user in group.user_set.all()}
            for pk in sorted(wanted.keys() - current.keys()):
                services.group_member_add(actor=actor, group=group, user=wanted[pk])
            for pk in sorted(current.keys() - wanted.keys()):
                services.group_member_remove(actor=actor, group=group, user=current[pk])
        else:
            group = services.group_create(
                actor=actor,
                name=data["name"],
                description=data["description"],
                owners=data["owners"],
                members=data["members"],
            )
        obj.pk = group.pk
        obj.name = group.name
        obj._state.adding = False

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Members and owners were saved by the services in save_model; the form has no relation of its own.
        pass

    def delete_model(self, request: HttpRequest, obj: Group) -> None:
        services.group_delete(actor=request.user, group=obj)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Group]) -> None:
        for group in queryset:
            services.group_delete(actor=request.user, group=group)  # type: ignore[arg-type]


class UserAdmin(DjangoUserAdmin):
    """A user's groups are shown, and changed on the group's page, where the change log sees them."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields if obj is None else (*fields, "groups")


admin.site.unregister(User)
admin.site.register(User, UserAdmin)
