from django.db import models


class Sensitivity(models.TextChoices):
    PUBLIC = "public", "Public"
    INTERNAL = "internal", "Internal"
    CONFIDENTIAL = "confidential", "Confidential"
    RESTRICTED = "restricted", "Restricted"


class OwnershipRole(models.TextChoices):
    OWNER = "owner", "Owner"
    STEWARD = "steward", "Steward"
    CUSTODIAN = "custodian", "Custodian"


# Roles that may change a dataset, its versions, its card and its owners.
WRITING_ROLES = (OwnershipRole.OWNER, OwnershipRole.STEWARD)
