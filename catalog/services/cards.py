"""Writes to data cards: sections written by people, or imported from a Hugging Face or Croissant document."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from catalog.cards.croissant import card_from_croissant
from catalog.cards.huggingface import CardDocumentInvalid, card_from_markdown
from catalog.models import CARD_SECTIONS, DataCard, Dataset
from governance.choices import ChangeAction, ObjectType
from governance.services import change_record, changed_values


def card_update(*, actor: User, dataset: Dataset, replace: bool = False, **changes: Any) -> DataCard:
    """Write a dataset's card: the sections given (all of them when `replace`, the others emptied)
    and its task categories. Completeness follows; the change log records what changed."""
    allowed = {*CARD_SECTIONS, "task_categories"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"Cannot change {', '.join(sorted(unknown))} of a card.")
    if replace:
        changes = {**{section: "" for section in CARD_SECTIONS}, "task_categories": [], **changes}
    with transaction.atomic():
        Dataset.objects.select_for_update().filter(pk=dataset.pk).first()  # one writer of a card at a time
        card, created = DataCard.objects.get_or_create(dataset_id=dataset.pk)
        before = {field: getattr(card, field) for field in allowed}
        for field, value in changes.items():
            setattr(card, field, value)
        card.completeness = round(1 - len(card.missing_sections) / len(CARD_SECTIONS), 4)
        card.updated_by = actor
        old, new = changed_values(before, {field: getattr(card, field) for field in allowed})
        if new or created:
            card.save()
            change_record(
                actor=actor,
                action=ChangeAction.CREATE if created else ChangeAction.UPDATE,
                object_type=ObjectType.CARD,
                object_id=dataset.pk,
                dataset_id=dataset.pk,
                before=None if created else old,
                after=new,
                object_repr=f"card of {dataset}",
            )
    return card


def card_import(*, actor: User, dataset: Dataset, format: str, content: Any) -> DataCard:
    """Fill a card from a Hugging Face README.md or a Croissant document: the sections the document
    states replace those of the card; the others stay. Raises CardDocumentInvalid."""
    if format == "huggingface":
        if not isinstance(content, str):
            raise CardDocumentInvalid("A Hugging Face dataset card is Markdown text (a JSON string).")
        found = card_from_markdown(content)
    else:
        if not isinstance(content, dict):
            raise CardDocumentInvalid("A Croissant document is a JSON-LD object.")
        found = card_from_croissant(content)
    stated = {field: value for field, value in found.items() if value}
    if not stated:
        raise CardDocumentInvalid("The document states none of the card's sections.")
    return card_update(actor=actor, dataset=dataset, **stated)
