"""The catalog's admin pages; importing the package registers them."""

from catalog.admin import datasets, versions

__all__ = ["datasets", "versions"]
