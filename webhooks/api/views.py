"""Webhooks (staff): receivers of signed events, and the record of each delivery to them."""

from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.pagination import LimitOffsetPagination
from config.api.staff import StaffCollectionViewSet
from webhooks import services
from webhooks.api.serializers import (
    WebhookDeliveryPageSerializer,
    WebhookDeliverySerializer,
    WebhookSerializer,
    WebhookWriteSerializer,
)
from webhooks.models import Webhook, WebhookDelivery

SIGNATURE = (
    'Each delivery is a POST of JSON `{"event", "id", "created_at", "data"}` with the header '
    '`Catalog-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>`; check it in '
    "constant time and refuse a `t` more than 5 minutes from your clock. `id` is the event's: the same for every "
    "webhook and every retry, so deduplicate by it."
)


@extend_schema_view(
    list=extend_schema(summary="List webhooks (staff)", description=SIGNATURE),
    retrieve=extend_schema(summary="Read a webhook (staff)", description="The secret is never shown."),
    create=extend_schema(
        summary="Register a webhook (staff)",
        description="The URL is checked now and again at each delivery. " + SIGNATURE,
        request=WebhookWriteSerializer,
        responses={201: WebhookSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a webhook (staff)",
        description="What is left out stays; a new `secret` signs the attempts made from then on.",
        request=WebhookWriteSerializer,
        responses={200: WebhookSerializer},
    ),
    destroy=extend_schema(
        summary="Remove a webhook and the record of its deliveries (staff)",
        description="Nothing more is sent to it; a delivery under way finds it gone and stops.",
    ),
)
class WebhookViewSet(StaffCollectionViewSet[Webhook]):
    queryset = Webhook.objects.select_related("created_by")
    serializer_class = WebhookSerializer
    write_serializer_class = WebhookWriteSerializer
    location = "/api/v1/webhooks/"
    pagination_class = LimitOffsetPagination

    def created(self, actor: User, **fields: Any) -> Webhook:
        return services.webhook_create(actor=actor, **fields)

    def changed(self, actor: User, instance: Webhook, **fields: Any) -> None:
        services.webhook_update(actor=actor, webhook=instance, **fields)

    def removed(self, actor: User, instance: Webhook) -> None:
        services.webhook_delete(actor=actor, webhook=instance)

    @extend_schema(
        summary="List a webhook's deliveries (staff)",
        description="Latest first: each event sent to it, its status (`pending`, `succeeded`, `failed`), the "
        "attempts made (every one in `history`), the last response code and the start of the last answer.",
        parameters=[
            OpenApiParameter("limit", OpenApiTypes.INT, description="Deliveries per page (at most 500)."),
            OpenApiParameter("offset", OpenApiTypes.INT, description="Deliveries skipped."),
        ],
        responses={200: WebhookDeliveryPageSerializer},
    )
    @action(
        detail=True,
        methods=["get"],
        serializer_class=WebhookDeliverySerializer,
        query_parameters=("limit", "offset"),
    )
    def deliveries(self, request: Request, pk: str | None = None) -> Response:
        webhook = self.get_object()
        deliveries = WebhookDelivery.objects.filter(webhook=webhook).order_by("-created_at", "-id")
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)
