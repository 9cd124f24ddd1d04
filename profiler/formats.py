"""The source formats the engine reads: named here once, for the engine, its command and the catalog."""

# Tables: delimited text, Parquet and JSON Lines.
DELIMITED_FORMATS = ("csv", "tsv")
TABULAR_FORMATS = (*DELIMITED_FORMATS, "parquet", "jsonl")
# Folders of items: images, and text documents.
MEDIA_FORMATS = ("images", "text")
SOURCE_FORMATS = (*TABULAR_FORMATS, *MEDIA_FORMATS)
