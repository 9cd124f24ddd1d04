"""What a model's owners write into its public summary of training content: the narrative items of the
EU AI Act's template the catalog cannot fill (training.content_summary), each stored per section and item,
and every change written to the change log."""

from __future__ import annotations

from collections.abc import Mapping

from django.contrib.auth.models import User
from django.db import transaction

from config import errors
from governance.choices import ChangeAction, ObjectType
from governance.permissions import user_can_write_model
from governance.services import change_record
from training.content_summary import MAX_NARRATIVE_CHARS, SECTIONS
from training.models import Model, TrainingContentNarrative

# How many unknown keys a refusal names.
NAMED = 20


def _named(keys: list[str]) -> str:
    shown = [key if len(key) <= 64 else key[:64] + "..." for key in keys[:NAMED]]
    more = f" and {len(keys) - NAMED} more" if len(keys) > NAMED else ""
    return ", ".join(repr(key) for key in shown) + more


def _checked(sections: Mapping[str, Mapping[str, str | None]]) -> dict[tuple[str, str], str]:
    """The items to set (text) or clear (empty text), refusing unknown sections and items and text that is
    too long or cannot be stored."""
    unknown = [key for key in sections if key not in SECTIONS]
    if unknown:
        raise errors.Invalid(
            f"Unknown sections of the template: {_named(unknown)}. Sections are {', '.join(SECTIONS)}.",
            field="sections",
        )
    wanted: dict[tuple[str, str], str] = {}
    for key, items in sections.items():
        taken = SECTIONS[key][1]
        if not isinstance(items, Mapping):
            raise errors.Invalid("A section is an object of item keys to their text.", field=f"sections.{key}")
        strange = [name for name in items if name not in taken]
        if strange:
            raise errors.Invalid(
                f"Unknown items of section {key}: {_named(strange)}. Its items are {', '.join(taken)}.",
                field=f"sections.{key}",
            )
        for name, text in items.items():
            where = f"sections.{key}.{name}"
            if text is None:
                text = ""
            if not isinstance(text, str):
                raise errors.Invalid("An item's narrative is text, or null to remove it.", field=where)
            if "\x00" in text:
                raise errors.Invalid("The text has a NUL character (U+0000), which text may not contain.", field=where)
            if len(text) > MAX_NARRATIVE_CHARS:
                raise errors.Invalid(
                    f"The text is longer than {MAX_NARRATIVE_CHARS:,} characters; link to a longer document.",
                    field=where,
                )
            wanted[(key, name)] = text.strip()
    return wanted


def training_content_narrative_update(
    *, actor: User, model: Model, sections: Mapping[str, Mapping[str, str | None]]
) -> None:
    """Set (or, with empty text or null, remove) narrative items of the model's summary of training content:
    its owners and stewards, or staff (Forbidden otherwise). Unknown sections or items are refused, naming them,
    and nothing is written. One change-log entry (about the model) holds the items changed, before and after."""
    if not user_can_write_model(actor, model.pk):
        raise errors.Forbidden("Only the model's owners and stewards (or staff) may write its summary.")
    wanted = _checked(sections)
    if not wanted:
        return
    with transaction.atomic():
        Model.objects.select_for_update().filter(pk=model.pk).first()
        current = {
            (narrative.section, narrative.item): narrative
            for narrative in TrainingContentNarrative.objects.filter(model=model, section__in={s for s, _ in wanted})
        }
        before: dict[str, dict[str, str | None]] = {}
        after: dict[str, dict[str, str | None]] = {}
        for (section, item), text in wanted.items():
            existing = current.get((section, item))
            old = existing.text if existing is not None else None
            new = text or None
            if old == new:
                continue
            before.setdefault(section, {})[item] = old
            after.setdefault(section, {})[item] = new
            if new is None:
                assert existing is not None
                existing.delete()
            elif existing is None:
                TrainingContentNarrative.objects.create(
                    model=model, section=section, item=item, text=new, updated_by=actor
                )
            else:
                existing.text, existing.updated_by = new, actor
                existing.save(update_fields=["text", "updated_by", "updated_at"])
        if after:
            change_record(
                actor=actor,
                action=ChangeAction.UPDATE,
                object_type=ObjectType.MODEL,
                object_id=model.pk,
                object_repr=str(model),
                before={"training_content_summary": before},
                after={"training_content_summary": after},
            )
