"""The admin's dataset pages: the list with its filters, the change form, owners and versions inline, and
the actions (deprecate, retire, purge)."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Prefetch, QuerySet, Value
from django.db.models.functions import Concat
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from catalog import services
from catalog.admin_overview import dataset_overview
from catalog.choices import Lifecycle
from catalog.models import DATASET_FIELDS, Dataset, DatasetVersion
from catalog.templatetags.catalog_admin import shortened, wrapped
from config.admin import CheckedActionsAdmin
from config.identities import IdentityInvalid, identity_checked
from governance import services as governance_services
from governance.choices import OwnershipRole
from governance.licensing import LicenseExpressionInvalid, license_expression_parse
from governance.models import Ownership


def _identity(value: str) -> str:
    try:
        return identity_checked(value)
    except IdentityInvalid as exc:
        raise forms.ValidationError(f"This name {exc}.") from None


class DatasetAdminForm(forms.ModelForm):
    class Meta:
        model = Dataset
        # The tags beside the license, where the form has always shown them.
        fields = ("namespace", "name", *DATASET_FIELDS[:2], "tags", *DATASET_FIELDS[2:])

    lifecycle = forms.ChoiceField(
        choices=[(Lifecycle.ACTIVE, "Active"), (Lifecycle.DEPRECATED, "Deprecated")],
        help_text="Retire a dataset with Delete (as DELETE does in the API); it then stays readable by id.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.lifecycle == Lifecycle.RETIRED:
            # Retired stays retired: the admin lists it as read-only, so the form may not have it at all.
            self.fields.pop("lifecycle", None)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("lifecycle") == Lifecycle.DEPRECATED and not cleaned.get("deprecation_reason", "").strip():
            self.add_error("deprecation_reason", "Say why the dataset is deprecated (and what to use instead).")
        return cleaned

    # The identity rule of the API (config.identities): one spelling, nothing that passes for another name.
    def clean_namespace(self) -> str:
        return _identity(self.cleaned_data.get("namespace", ""))

    def clean_name(self) -> str:
        return _identity(self.cleaned_data.get("name", ""))

    def clean_license(self) -> str:
        try:
            return license_expression_parse(self.cleaned_data.get("license", "")).expression
        except LicenseExpressionInvalid as exc:
            raise forms.ValidationError(str(exc)) from None


class OwnershipInline(admin.TabularInline):
    model = Ownership
    extra = 0
    autocomplete_fields = ("user", "group")


class VersionInline(admin.TabularInline):
    model = DatasetVersion
    extra = 0
    fields = ("number", "status", "format", "source", "fingerprint_shown", "size_bytes", "row_count", "created_at")
    readonly_fields = fields
    show_change_link = True
    can_delete = False
    ordering = ("-number",)

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="Source")
    def source(self, version: DatasetVersion) -> SafeString:
        return wrapped(version.uri)

    @admin.display(description="Fingerprint")
    def fingerprint_shown(self, version: DatasetVersion) -> SafeString | str:
        return shortened(version.fingerprint, 24)


class OwnerFilter(admin.SimpleListFilter):
    title = "owner"
    parameter_name = "owner"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        users = Ownership.objects.filter(user__isnull=False).values_list("user__username", flat=True)
        groups = Ownership.objects.filter(group__isnull=False).values_list("group__name", flat=True)
        names = sorted(set(users) | {f"group:{name}" for name in groups})
        return [(name, name) for name in names]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Dataset]) -> QuerySet[Dataset]:
        value = self.value()
        if not value:
            return queryset
        if value.startswith("group:"):
            return queryset.filter(ownerships__group__name=value.removeprefix("group:")).distinct()
        return queryset.filter(ownerships__user__username=value).distinct()


class CardCompletenessFilter(admin.SimpleListFilter):
    title = "card completeness"
    parameter_name = "card"
    BANDS = {"none": (None, None), "lt50": (0.0, 0.5), "lt100": (0.5, 1.0), "complete": (1.0, None)}

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("none", "No card"), ("lt50", "Under half"), ("lt100", "Half or more"), ("complete", "Complete")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Dataset]) -> QuerySet[Dataset]:
        value = self.value()
        if value == "none":
            return queryset.filter(card__isnull=True)
        if value == "lt50":
            return queryset.filter(card__completeness__lt=0.5)
        if value == "lt100":
            return queryset.filter(card__completeness__gte=0.5, card__completeness__lt=1)
        if value == "complete":
            return queryset.filter(card__completeness__gte=1)
        return queryset


class DeprecateForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea, help_text="Why, and what to use instead.")


RETIRE, PURGE = "retire", "purge"


@admin.register(Dataset)
class DatasetAdmin(CheckedActionsAdmin):
    list_display = (
        "identity",
        "license",
        "owner_names",
        "latest",
        "rows",
        "card_completeness",
        "sensitivity",
        "lifecycle",
        "updated",
    )
    list_filter = (
        "license",
        "tags",
        OwnerFilter,
        "sensitivity",
        "latest_version__status",
        "namespace",
        CardCompletenessFilter,
        "lifecycle",
    )
    search_fields = ("namespace", "name", "description", "card__summary")
    list_select_related = ("latest_version", "card")
    actions = ("reprofile_latest", "deprecate", "delete_selected", "purge_selected")
    filter_horizontal = ("tags",)
    readonly_fields = ("id", "latest_version", "created_by", "created_at", "updated_at", "retired_at")
    inlines = (OwnershipInline, VersionInline)
    form = DatasetAdminForm

    def get_readonly_fields(self, request: HttpRequest, obj: Dataset | None = None) -> Any:
        # A dataset's identity is fixed once registered: lineage and audits name it by it.
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is None:
            return fields
        return (*fields, "namespace", "name", *(("lifecycle",) if obj.lifecycle == Lifecycle.RETIRED else ()))

    # Changes go through the services, which check them and write the change log.
    def save_model(self, request: HttpRequest, obj: Dataset, form: Any, change: bool) -> None:
        data = form.cleaned_data
        tags = [tag.name for tag in data.get("tags", [])]
        if not change:
            created = services.dataset_register(
                actor=request.user,  # type: ignore[arg-type]  # the admin has only signed-in staff
                namespace=data["namespace"],
                name=data["name"],
                description=data.get("description", ""),
                license=data.get("license", ""),
                tags=tags,
                sensitivity=data.get("sensitivity"),
                origin=data.get("origin", ""),
                origin_terms=data.get("origin_terms", ""),
            )
            obj.pk = created.pk
            obj._state.adding = False
            return
        changes = {field: data[field] for field in form.changed_data if field in DATASET_FIELDS}
        if "tags" in form.changed_data:
            changes["tags"] = tags
        if changes.get("lifecycle") == Lifecycle.DEPRECATED:
            changes["deprecation_reason"] = data["deprecation_reason"]  # a deprecation says why, even unchanged
        if changes:
            services.dataset_update(actor=request.user, dataset=obj, **changes)  # type: ignore[arg-type]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Tags were set by the service; only the inlines are saved here.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not Ownership:
            super().save_formset(request, form, formset, change)
            return
        formset.save(commit=False)
        actor = request.user
        for ownership in formset.new_objects:
            governance_services.ownership_add(
                actor=actor,  # type: ignore[arg-type]
                dataset_id=form.instance.pk,
                user=ownership.user,
                group=ownership.group,
                role=ownership.role,
            )
        for ownership, _ in formset.changed_objects:
            # An ownership's principal and role are what it is: a change is a removal and an addition.
            previous = Ownership.objects.get(pk=ownership.pk)
            governance_services.ownership_add(
                actor=actor,  # type: ignore[arg-type]
                dataset_id=form.instance.pk,
                user=ownership.user,
                group=ownership.group,
                role=ownership.role,
            )
            try:
                governance_services.ownership_remove(actor=actor, ownership=previous)  # type: ignore[arg-type]
            except governance_services.LastOwner as exc:
                self.message_user(request, str(exc), level=messages.ERROR)
        for ownership in formset.deleted_objects:
            try:
                governance_services.ownership_remove(actor=actor, ownership=ownership)  # type: ignore[arg-type]
            except governance_services.LastOwner as exc:
                self.message_user(request, str(exc), level=messages.ERROR)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Dataset]:
        # One query for every owner of the page's datasets, whatever the page size.
        owners = Prefetch("ownerships", queryset=Ownership.objects.select_related("user", "group"))
        return super().get_queryset(request).prefetch_related(owners)

    @admin.display(description="Dataset", ordering=Concat("namespace", Value("/"), "name"))
    def identity(self, dataset: Dataset) -> SafeString:
        return format_html('<span class="wrapped">{}/<strong>{}</strong></span>', dataset.namespace, dataset.name)

    @admin.display(description="Owners")
    def owner_names(self, dataset: Dataset) -> str:
        owners = [o.principal_name for o in dataset.ownerships.all() if o.role == OwnershipRole.OWNER]
        return ", ".join(owners) or "—"

    @admin.display(description="Rows", ordering="latest_version__row_count")
    def rows(self, dataset: Dataset) -> int | None:
        return dataset.latest_version.row_count if dataset.latest_version else None

    @admin.display(description="Card", ordering="card__completeness")
    def card_completeness(self, dataset: Dataset) -> str:
        card = getattr(dataset, "card", None)
        return f"{card.completeness:.0%}" if card is not None else "none"

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None) -> Any:
        dataset = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if dataset is not None:
            context["overview"] = dataset_overview(dataset, request.user)
        return super().change_view(request, object_id, form_url, extra_context=context)

    @admin.action(description="Profile the latest version again")
    def reprofile_latest(self, request: HttpRequest, queryset: QuerySet[Dataset]) -> None:
        queued, busy = 0, []
        for dataset in queryset.select_related("latest_version"):
            if dataset.latest_version is None:
                continue
            try:
                services.version_reprofile(actor=request.user, version=dataset.latest_version)  # type: ignore[arg-type]
                queued += 1
            except services.VersionBusy:
                busy.append(str(dataset))
        self.message_user(request, f"{queued} version(s) queued for profiling.")
        if busy:
            self.message_user(request, f"Still being profiled: {', '.join(busy)}.", level=messages.WARNING)

    @admin.action(description="Deprecate (with a reason)")
    def deprecate(self, request: HttpRequest, queryset: QuerySet[Dataset]) -> Any:
        form = DeprecateForm(request.POST if "reason" in request.POST else None)
        if form.is_valid():
            for dataset in queryset:
                services.dataset_update(
                    actor=request.user,  # type: ignore[arg-type]
                    dataset=dataset,
                    lifecycle=Lifecycle.DEPRECATED,
                    deprecation_reason=form.cleaned_data["reason"],
                )
            self.message_user(request, f"{queryset.count()} dataset(s) deprecated.")
            return None
        return TemplateResponse(
            request,
            "admin/catalog/dataset/deprecate.html",
            {
                **self.admin_site.each_context(request),
                "title": "Deprecate datasets",
                "datasets": queryset,
                "form": form,
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
                "opts": self.model._meta,
            },
        )

    # --- Deleting, by the API's rules. The admin's users are staff, whom the API lets retire any
    # dataset and purge a retired one. Delete retires: the dataset leaves the lists and stays readable
    # by id, with its versions, audits and history. Deleting a retired dataset purges it, refused
    # while what its owners stand behind references it. The services write both to the change log;
    # nothing here deletes a row itself.

    def delete_model(self, request: HttpRequest, obj: Dataset) -> None:
        services.dataset_retire(actor=request.user, dataset=obj)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Dataset]) -> None:
        for dataset in queryset:
            services.dataset_retire(actor=request.user, dataset=dataset)  # type: ignore[arg-type]

    def has_purge_permission(self, request: HttpRequest, obj: Dataset | None = None) -> bool:
        return bool(request.user.is_staff) and self.has_delete_permission(request, obj)

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        dataset = self.get_object(request, unquote(object_id))
        if dataset is None:  # Django's answer: back to the list, saying so
            return super().delete_view(request, object_id, extra_context)
        intent = PURGE if dataset.lifecycle == Lifecycle.RETIRED else RETIRE
        allowed = self.has_purge_permission if intent == PURGE else self.has_delete_permission
        if not allowed(request, dataset):
            raise PermissionDenied
        if request.method == "POST":
            if request.POST.get("intent") == intent:
                done = self._retire(request, [dataset]) if intent == RETIRE else self._purge(request, [dataset])
                if intent == PURGE and not done:
                    return HttpResponseRedirect(reverse("admin:catalog_dataset_change", args=[dataset.pk]))
                return HttpResponseRedirect(reverse("admin:catalog_dataset_changelist"))
            # Retired by someone else between the page and the click: a retirement confirmed is
            # never taken for a purge.
            self.message_user(
                request, f"{dataset} is {dataset.get_lifecycle_display().lower()} now: confirm again.", messages.WARNING
            )
        return self._delete_confirmation(request, [dataset], intent, single=True)

    @admin.action(permissions=["delete"], description="Retire the selected datasets (delete, as the API does)")
    def delete_selected(self, request: HttpRequest, queryset: QuerySet[Dataset]) -> HttpResponse | None:
        datasets = list(queryset.exclude(lifecycle=Lifecycle.RETIRED))
        if not datasets:
            self.message_user(request, "The selected datasets are retired already.", messages.WARNING)
            return None
        if request.POST.get("intent") == RETIRE:
            self._retire(request, datasets)
            return None
        return self._delete_confirmation(request, datasets, RETIRE)

    @admin.action(permissions=["purge"], description="Purge the selected retired datasets for good")
    def purge_selected(self, request: HttpRequest, queryset: QuerySet[Dataset]) -> HttpResponse | None:
        datasets = list(queryset.filter(lifecycle=Lifecycle.RETIRED))
        if not datasets:
            self.message_user(request, "Only retired datasets are purged: retire them first.", messages.WARNING)
            return None
        if request.POST.get("intent") == PURGE:
            self._purge(request, datasets)
            return None
        return self._delete_confirmation(request, datasets, PURGE)

    def _retire(self, request: HttpRequest, datasets: list[Dataset]) -> bool:
        for dataset in datasets:
            services.dataset_retire(actor=request.user, dataset=dataset)  # type: ignore[arg-type]
            self.log_change(request, dataset, "Retired.")
        self.message_user(
            request,
            f"Retired {', '.join(map(str, datasets))}: out of the lists, still readable by id. "
            "Delete a retired dataset to purge it for good.",
            messages.SUCCESS,
        )
        return True

    def _purge(self, request: HttpRequest, datasets: list[Dataset]) -> bool:
        if not request.user.is_staff:  # the API's rule; the admin lets in staff only anyway
            raise PermissionDenied
        purged = []
        for dataset in datasets:
            try:
                with transaction.atomic():
                    self.log_deletions(request, Dataset.objects.filter(pk=dataset.pk))
                    services.dataset_purge(actor=request.user, dataset=dataset)
            except services.DatasetNotPurgeable as exc:
                self.message_user(request, str(exc), messages.ERROR)
                continue
            purged.append(str(dataset))
        if purged:
            self.message_user(request, f"Purged {', '.join(purged)} for good.", messages.SUCCESS)
        return len(purged) == len(datasets)

    def _delete_confirmation(
        self, request: HttpRequest, datasets: list[Dataset], intent: str, single: bool = False
    ) -> TemplateResponse:
        counted = Dataset.objects.filter(pk__in=[dataset.pk for dataset in datasets]).annotate(
            version_count=Count("versions")
        )
        verb = "Retire" if intent == RETIRE else "Purge"
        return TemplateResponse(
            request,
            "admin/catalog/dataset/delete_confirmation.html",
            {
                **self.admin_site.each_context(request),
                "title": f"{verb} {'this dataset' if single else 'datasets'}",
                "opts": self.opts,
                "app_label": self.opts.app_label,
                "object": datasets[0] if single else None,
                "datasets": counted,
                "intent": intent,
                "single": single,
                "action": request.POST.get("action", ""),
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
                "media": self.media,
            },
        )

    @admin.display(description="Latest version", ordering="latest_version__number")
    def latest(self, dataset: Dataset) -> str:
        version = dataset.latest_version
        return f"v{version.number} {version.get_status_display().lower()}" if version else "no version"

    @admin.display(description="Updated", ordering="updated_at")
    def updated(self, dataset: Dataset) -> str:
        return f"{dataset.updated_at:%Y-%m-%d}"
