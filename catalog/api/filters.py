import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet

from catalog import selectors
from catalog.choices import Lifecycle, VersionStatus
from catalog.models import Dataset, Feature
from governance.choices import Sensitivity
from governance.licensing import LicenseExpressionInvalid, license_expression_parse
from governance.models import Ownership


class DatasetFilter(django_filters.FilterSet):
    namespace = django_filters.CharFilter(help_text="Exact namespace, e.g. `file` or `s3://bucket`.")
    tag = django_filters.CharFilter(method="filter_tag", help_text="Datasets carrying this tag.")
    owner = django_filters.CharFilter(
        method="filter_owner", help_text="Datasets owned, stewarded or kept by this username or group name."
    )
    status = django_filters.ChoiceFilter(
        field_name="latest_version__status",
        choices=VersionStatus.choices,
        help_text="Status of the latest version.",
    )
    sensitivity = django_filters.ChoiceFilter(choices=Sensitivity.choices)
    lifecycle = django_filters.ChoiceFilter(
        choices=[(Lifecycle.ACTIVE, "Active"), (Lifecycle.DEPRECATED, "Deprecated")]
    )
    license = django_filters.CharFilter(
        method="filter_license", help_text="An SPDX license expression, matched in its normal form."
    )
    feature = django_filters.CharFilter(
        method="filter_feature", help_text="Datasets whose latest version has a feature (column) of this exact name."
    )
    card_completeness_lt = django_filters.NumberFilter(
        method="filter_card_completeness_lt",
        help_text="Datasets whose data card is less complete than this (0 to 1); no card counts as 0.",
    )
    search = django_filters.CharFilter(
        method="filter_search",
        help_text="Full-text search over names, namespaces, descriptions, data cards and feature names; best "
        "matches first.",
    )

    class Meta:
        model = Dataset
        fields: list[str] = []

    def filter_tag(self, queryset: QuerySet[Dataset], name: str, value: str) -> QuerySet[Dataset]:
        tagged = Dataset.tags.through.objects.filter(dataset_id=OuterRef("pk"), tag__name=value.strip().lower())
        return queryset.filter(Exists(tagged))

    def filter_license(self, queryset: QuerySet[Dataset], name: str, value: str) -> QuerySet[Dataset]:
        try:
            expression = license_expression_parse(value).expression
        except LicenseExpressionInvalid:
            return queryset.none()  # no dataset holds an expression the catalog would refuse
        return queryset.filter(license=expression)

    def filter_owner(self, queryset: QuerySet[Dataset], name: str, value: str) -> QuerySet[Dataset]:
        owned = Ownership.objects.filter(dataset_id=OuterRef("pk")).filter(
            Q(user__username=value) | Q(group__name=value)
        )
        return queryset.filter(Exists(owned))

    def filter_feature(self, queryset: QuerySet[Dataset], name: str, value: str) -> QuerySet[Dataset]:
        return queryset.filter(
            Exists(Feature.objects.filter(version_id=OuterRef("latest_version_id"), name=value).order_by())
        )

    def filter_card_completeness_lt(self, queryset: QuerySet[Dataset], name: str, value: float) -> QuerySet[Dataset]:
        return queryset.filter(Q(card__completeness__lt=value) | Q(card__isnull=True))

    def filter_search(self, queryset: QuerySet[Dataset], name: str, value: str) -> QuerySet[Dataset]:
        return selectors.dataset_search(queryset, value) if value.strip() else queryset
