"""Models and training runs over HTTP: what a request may send (bounded, strict) and what a response
shows (DESIGN §10). Bounds: a run names at most MAX_INPUTS inputs and MAX_ARTIFACTS artifacts; its
hyperparameters, metrics and environment are JSON objects nested at most MAX_JSON_DEPTH levels and at
most MAX_JSON_BYTES once encoded (training.specs); text holds no NUL (the parsers refuse it)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.core.validators import RegexValidator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import tag_name_validator
from config.api.fields import StrictCharField
from config.api.serializers import StrictSerializer, renamed_fields
from config.moments import MomentOutOfRange, moment_in_utc
from governance.choices import OwnershipRole, PrincipalType, Verdict
from training.choices import InputRole, RunSource, RunStatus
from training.models import Model, TrainingInput, TrainingRun
from training.selectors import RESTRICTED_INPUT
from training.specs import (
    MAX_ARTIFACTS,
    MAX_INPUTS,
    MAX_JSON_BYTES,
    MAX_JSON_DEPTH,
    ArtifactSpec,
    InputRef,
    ModelRef,
    json_object_problem,
)

_single_line = RegexValidator(r"^[^\x00-\x1f\x7f]+$", "Control characters (such as newlines) are not allowed.")
_sha256 = RegexValidator(r"^[0-9a-f]{64}$", "A sha256 is 64 lower-case hex digits.")
_fingerprint = RegexValidator(r"^sha256:[0-9a-f]{64}$", "A fingerprint is sha256: and 64 lower-case hex digits.")


class MomentField(serializers.DateTimeField):
    """An ISO 8601 instant, kept in UTC; one outside what the database holds is refused."""

    def to_internal_value(self, value: Any) -> Any:
        if not isinstance(value, str):
            self.fail("invalid", format="ISO 8601")
        moment = super().to_internal_value(value)
        try:
            return moment_in_utc(moment)
        except MomentOutOfRange as exc:
            raise serializers.ValidationError(str(exc)) from None


@extend_schema_field(OpenApiTypes.OBJECT)
class BoundedObjectField(serializers.JSONField):
    """A JSON object kept exactly as sent (nested allowed), within the bounds of training.specs."""

    def to_internal_value(self, data: Any) -> Any:
        if (problem := json_object_problem(data)) is not None:
            raise serializers.ValidationError(f"This {problem}")
        return data


class _TagsField(serializers.ListField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            child=StrictCharField(max_length=64, validators=[tag_name_validator]),
            max_length=100,
            help_text="Lower-case tags; letters, digits and . _ : / + -.",
            **kwargs,
        )

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, list):
            data = [tag.strip().lower() if isinstance(tag, str) else tag for tag in data]
        return super().to_internal_value(data)


# --- Models -----------------------------------------------------------------------------------------


class OwnerEntrySerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=PrincipalType.choices)
    name = serializers.CharField()
    role = serializers.ChoiceField(choices=OwnershipRole.choices)


class TrainingRunSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = TrainingRun
        fields = ["id", "model_version", "status", "started_at", "ended_at", "source", "confirmed", "created_at"]
        read_only_fields = fields


class ModelSerializer(serializers.ModelSerializer):
    tags = serializers.SerializerMethodField()
    owners = serializers.SerializerMethodField()
    latest_run = serializers.SerializerMethodField(
        help_text="The latest confirmed run, by start then by when it was recorded; null when there is none."
    )
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)  # type: ignore[var-annotated]

    class Meta:
        model = Model
        fields = [
            "id",
            "namespace",
            "name",
            "description",
            "tags",
            "owners",
            "latest_run",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_tags(self, model: Model) -> list[str]:
        return model.tag_names  # type: ignore[attr-defined]

    @extend_schema_field(OwnerEntrySerializer(many=True))
    def get_owners(self, model: Model) -> list[dict[str, Any]]:
        return model.owner_entries  # type: ignore[attr-defined]

    @extend_schema_field(TrainingRunSummarySerializer(allow_null=True))
    def get_latest_run(self, model: Model) -> dict[str, Any] | None:
        run = model.latest_run  # type: ignore[attr-defined]
        return TrainingRunSummarySerializer(run).data if run is not None else None


class ModelDetailSerializer(ModelSerializer):
    runs = serializers.SerializerMethodField(help_text="Its latest runs, latest first; all of them at `runs_url`.")
    runs_url = serializers.SerializerMethodField(help_text="Every run of the model: /training-runs/?model=<id>.")

    class Meta(ModelSerializer.Meta):
        fields = [*ModelSerializer.Meta.fields, "runs", "runs_url"]
        read_only_fields = fields

    @extend_schema_field(TrainingRunSummarySerializer(many=True))
    def get_runs(self, model: Model) -> Any:
        return TrainingRunSummarySerializer(model.recent_runs, many=True).data  # type: ignore[attr-defined]

    def get_runs_url(self, model: Model) -> str:
        return f"/api/v1/training-runs/?model={model.pk}"


class ModelCreateSerializer(StrictSerializer):
    representation = ModelDetailSerializer
    namespace = StrictCharField(max_length=255, validators=[_single_line], help_text="A team or a project.")
    name = StrictCharField(max_length=512, validators=[_single_line])
    description = StrictCharField(required=False, allow_blank=True, max_length=100_000)
    tags = _TagsField(required=False)


class ModelUpdateSerializer(StrictSerializer):
    representation = ModelDetailSerializer
    description = StrictCharField(required=False, allow_blank=True, max_length=100_000)
    tags = _TagsField(required=False)

    def refusal(self, key: str) -> str | None:
        if key in ("namespace", "name"):
            return "A model's namespace and name identify it and cannot change; create another model instead."
        return None


# --- Training runs ----------------------------------------------------------------------------------


class ModelNameSerializer(StrictSerializer):
    namespace = StrictCharField(max_length=255, validators=[_single_line])
    name = StrictCharField(max_length=512, validators=[_single_line])
    description = StrictCharField(
        required=False, allow_blank=True, max_length=100_000, help_text="For a model created by this run."
    )


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "format": "uuid", "description": "A model's id."},
            {
                "type": "object",
                "properties": {"namespace": {"type": "string"}, "name": {"type": "string"}},
                "required": ["namespace", "name"],
                "description": "A model by name; created (with you as its owner) when it does not exist.",
            },
        ]
    }
)
class ModelReferenceField(serializers.Field):
    default_error_messages = {"invalid": 'Name the model by its id or as {{"namespace": ..., "name": ...}}.'}

    def to_internal_value(self, data: Any) -> ModelRef:
        if isinstance(data, str):
            try:
                return ModelRef(id=UUID(data))
            except ValueError:
                self.fail("invalid")
        if isinstance(data, dict):
            named = ModelNameSerializer(data=data)
            if not named.is_valid():
                raise serializers.ValidationError(named.errors)
            return ModelRef(**named.validated_data)
        self.fail("invalid")
        raise AssertionError  # fail raises

    def to_representation(self, value: Any) -> Any:
        return str(value)


class CodeSerializer(StrictSerializer):
    repository = StrictCharField(required=False, allow_blank=True, max_length=2048, validators=[_single_line])
    commit = StrictCharField(required=False, allow_blank=True, max_length=255, validators=[_single_line])
    entrypoint = StrictCharField(required=False, allow_blank=True, max_length=2048, validators=[_single_line])


class InputSerializer(StrictSerializer):
    version = serializers.UUIDField(required=False, help_text="A version's id: that exact version.")
    dataset = serializers.UUIDField(
        required=False, help_text="A dataset's id: its latest ready version, recorded as that version (pinned false)."
    )
    uri = StrictCharField(required=False, max_length=2048, validators=[_single_line], help_text="With fingerprint.")
    fingerprint = StrictCharField(
        required=False, max_length=71, validators=[_fingerprint], help_text="sha256:<hex>, with uri."
    )
    namespace = StrictCharField(required=False, max_length=255, validators=[_single_line])
    name = StrictCharField(required=False, max_length=512, validators=[_single_line])
    version_label = StrictCharField(
        required=False,
        max_length=255,
        validators=[_single_line],
        help_text="With namespace and name: a fingerprint, a version number or a version id.",
    )
    role = serializers.ChoiceField(choices=InputRole.choices, default=InputRole.TRAIN)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        ways = [
            "version" in attrs,
            "dataset" in attrs,
            "uri" in attrs or "fingerprint" in attrs,
            "namespace" in attrs or "name" in attrs,
        ]
        if sum(ways) != 1:
            raise serializers.ValidationError(
                'Name the input one way: {"version": id}, {"dataset": id}, {"uri", "fingerprint"} or '
                '{"namespace", "name"} (with "version_label").'
            )
        if ways[2] and not ("uri" in attrs and "fingerprint" in attrs):
            raise serializers.ValidationError("Bytes are named by uri and fingerprint together.")
        if ways[3] and not ("namespace" in attrs and "name" in attrs):
            raise serializers.ValidationError("A dataset is named by namespace and name together.")
        if "version_label" in attrs and not ways[3]:
            raise serializers.ValidationError({"version_label": ["version_label goes with namespace and name."]})
        return attrs


class ArtifactSerializer(StrictSerializer):
    uri = StrictCharField(max_length=2048, validators=[_single_line])
    sha256 = StrictCharField(required=False, allow_blank=True, max_length=64, validators=[_sha256])
    size = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=2**63 - 1)


class PurposeSerializer(StrictSerializer):
    commercial = serializers.BooleanField(default=False, help_text="The model will be used commercially.")
    distribute_model = serializers.BooleanField(default=False, help_text="The trained model will be distributed.")
    distribute_data = serializers.BooleanField(default=False, help_text="The data itself will be distributed.")


class _RunChanges(StrictSerializer):
    status = serializers.ChoiceField(choices=RunStatus.choices, required=False)
    ended_at = MomentField(required=False, allow_null=True)
    metrics = BoundedObjectField(required=False, help_text=f"A JSON object (≤ {MAX_JSON_DEPTH} levels).")
    artifacts = serializers.ListField(child=ArtifactSerializer(), required=False, max_length=MAX_ARTIFACTS)

    def artifact_specs(self) -> tuple[ArtifactSpec, ...]:
        return tuple(ArtifactSpec(**item) for item in self.validated_data.get("artifacts", []))


class TrainingRunCreateSerializer(_RunChanges):
    model = ModelReferenceField(help_text='A model id, or {"namespace", "name"}.')
    model_version = StrictCharField(required=False, allow_blank=True, max_length=255, validators=[_single_line])
    started_at = MomentField(required=False, allow_null=True)
    code = CodeSerializer(required=False)
    hyperparameters = BoundedObjectField(
        required=False, help_text=f"A JSON object, kept as sent (≤ {MAX_JSON_DEPTH} levels, {MAX_JSON_BYTES} bytes)."
    )
    environment = BoundedObjectField(required=False, help_text="Framework versions, hardware: a JSON object.")
    inputs = serializers.ListField(child=InputSerializer(), required=False, max_length=MAX_INPUTS)
    purpose = PurposeSerializer(required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        started, ended = attrs.get("started_at"), attrs.get("ended_at")
        if started is not None and ended is not None and ended < started:
            raise serializers.ValidationError({"ended_at": ["ended_at is before started_at."]})
        return attrs

    def spec_values(self) -> dict[str, Any]:
        """The validated body as RunSpec's keyword arguments."""
        data = dict(self.validated_data)
        code = data.pop("code", {})
        return {
            **{key: value for key, value in data.items() if key not in ("inputs", "artifacts")},
            "code_repository": code.get("repository", ""),
            "code_commit": code.get("commit", ""),
            "code_entrypoint": code.get("entrypoint", ""),
            "inputs": tuple(InputRef(**item) for item in data.get("inputs", [])),
            "artifacts": self.artifact_specs(),
        }


class TrainingRunUpdateSerializer(_RunChanges):
    pass


class RunModelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Model
        fields = ["id", "namespace", "name"]
        read_only_fields = fields


class RunInputSerializer(serializers.ModelSerializer):
    dataset = serializers.SerializerMethodField(help_text="Null for a dataset you may not read, or one purged.")
    version = serializers.SerializerMethodField(help_text="Null for a dataset you may not read, or one purged.")
    dataset_name = serializers.SerializerMethodField(help_text=f"namespace/name, or {RESTRICTED_INPUT!r}.")
    version_number = serializers.SerializerMethodField()
    uri = serializers.SerializerMethodField()
    fingerprint = serializers.SerializerMethodField(help_text="The version's fingerprint when the run was recorded.")
    restricted = serializers.SerializerMethodField(help_text="True when you may not read its dataset.")

    class Meta:
        model = TrainingInput
        fields = [
            "dataset",
            "version",
            "dataset_name",
            "version_number",
            "uri",
            "fingerprint",
            "role",
            "pinned",
            "restricted",
        ]
        read_only_fields = fields

    def _shown(self, item: TrainingInput) -> bool:
        return bool(getattr(item, "readable", False))

    def get_restricted(self, item: TrainingInput) -> bool:
        return not self._shown(item)

    def get_dataset(self, item: TrainingInput) -> UUID | None:
        return item.dataset_id if self._shown(item) else None

    def get_version(self, item: TrainingInput) -> UUID | None:
        return item.version_id if self._shown(item) else None

    def get_dataset_name(self, item: TrainingInput) -> str:
        return item.dataset_label if self._shown(item) else RESTRICTED_INPUT

    def get_version_number(self, item: TrainingInput) -> int | None:
        return item.version_number if self._shown(item) else None

    def get_uri(self, item: TrainingInput) -> str:
        return item.uri if self._shown(item) else ""

    def get_fingerprint(self, item: TrainingInput) -> str:
        return item.fingerprint if self._shown(item) else ""


class RunArtifactSerializer(serializers.Serializer):
    uri = serializers.CharField()
    sha256 = serializers.CharField()
    size = serializers.IntegerField(allow_null=True)


class RunAuditSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    verdict = serializers.ChoiceField(choices=Verdict.choices)


@renamed_fields(source_field="source")
class TrainingRunSerializer(serializers.ModelSerializer):
    model = RunModelSerializer(read_only=True)
    code = serializers.SerializerMethodField()
    inputs = RunInputSerializer(many=True, read_only=True)
    artifacts = RunArtifactSerializer(many=True, read_only=True)
    purpose = PurposeSerializer(read_only=True, allow_null=True)
    source_field = serializers.ChoiceField(choices=RunSource.choices, read_only=True)
    audit = serializers.SerializerMethodField(help_text="The latest audit of this run; null when none.")
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)  # type: ignore[var-annotated]

    class Meta:
        model = TrainingRun
        fields = [
            "id",
            "model",
            "model_version",
            "status",
            "started_at",
            "ended_at",
            "code",
            "hyperparameters",
            "metrics",
            "environment",
            "inputs",
            "unmatched_inputs",
            "artifacts",
            "purpose",
            "source",
            "external_id",
            "confirmed",
            "verification",
            "audit",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(CodeSerializer)
    def get_code(self, run: TrainingRun) -> dict[str, str]:
        return {"repository": run.code_repository, "commit": run.code_commit, "entrypoint": run.code_entrypoint}

    @extend_schema_field(RunAuditSerializer(allow_null=True))
    def get_audit(self, run: TrainingRun) -> dict[str, Any] | None:
        audit = getattr(run, "audit", None)
        return {"id": audit.pk, "verdict": audit.verdict} if audit is not None else None
