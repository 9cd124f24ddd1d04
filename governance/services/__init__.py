"""Writes to the governance records: ownership, access grants, licenses, storage locations,
namespaces, groups, tokens, and the change log that every service writes to when it changes a
governed object. One module each; their public names are here, so `from governance import services`
reads as it always has."""

from governance.services.changes import ChangeSpec, change_record, change_record_many, changed_values
from governance.services.grants import access_grant_add, access_grant_remove
from governance.services.groups import (
    GroupExists,
    GroupInUse,
    GroupManagersOnly,
    GroupNameInvalid,
    group_create,
    group_delete,
    group_managed_by,
    group_member_add,
    group_member_remove,
    group_name_checked,
    group_name_free,
    group_update,
)
from governance.services.idempotency import IDEMPOTENCY_RETENTION, idempotency_records_purge
from governance.services.licenses import (
    CUSTOM_FIELDS,
    TERM_FIELDS,
    LicenseExists,
    bundled_license_terms,
    license_create,
    license_update,
    licenses_sync,
)
from governance.services.namespaces import namespace_create, namespace_delete, namespace_update
from governance.services.owners import LastOwner, OwnersOnly, actor_owns_dataset, ownership_add, ownership_remove
from governance.services.storage import (
    OBJECT_STORE_SCHEMES,
    StorageLocationExists,
    StorageLocationInvalid,
    storage_location_create,
    storage_location_delete,
    storage_location_update,
    storage_location_uri,
    storage_location_uri_checked,
)
from governance.services.tokens import (
    IssuedToken,
    access_token_authenticate,
    access_token_issue,
    access_token_password_digest,
    access_tokens_revoke,
)

__all__ = [
    "CUSTOM_FIELDS",
    "IDEMPOTENCY_RETENTION",
    "OBJECT_STORE_SCHEMES",
    "TERM_FIELDS",
    "ChangeSpec",
    "GroupExists",
    "GroupInUse",
    "GroupManagersOnly",
    "GroupNameInvalid",
    "IssuedToken",
    "LastOwner",
    "LicenseExists",
    "OwnersOnly",
    "StorageLocationExists",
    "StorageLocationInvalid",
    "access_grant_add",
    "access_grant_remove",
    "access_token_authenticate",
    "access_token_issue",
    "access_token_password_digest",
    "access_tokens_revoke",
    "actor_owns_dataset",
    "bundled_license_terms",
    "change_record",
    "change_record_many",
    "changed_values",
    "group_create",
    "group_delete",
    "group_managed_by",
    "group_member_add",
    "group_member_remove",
    "group_name_checked",
    "group_name_free",
    "group_update",
    "idempotency_records_purge",
    "license_create",
    "license_update",
    "licenses_sync",
    "namespace_create",
    "namespace_delete",
    "namespace_update",
    "ownership_add",
    "ownership_remove",
    "storage_location_create",
    "storage_location_delete",
    "storage_location_update",
    "storage_location_uri",
    "storage_location_uri_checked",
]
