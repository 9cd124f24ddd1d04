from django.urls import path
from rest_framework.routers import SimpleRouter

from audits.api import views

router = SimpleRouter(use_regex_path=False)
router.register("audits", views.AuditViewSet, basename="audit")

urlpatterns = [
    path("audits/<uuid:pk>/markdown", views.AuditMarkdownView.as_view(), name="audit-markdown"),
    *router.urls,
]
