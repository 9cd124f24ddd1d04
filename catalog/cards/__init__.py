"""Data cards: what people wrote about a dataset, joined at render time with what the catalog knows,
and exported as a Hugging Face dataset card (Markdown with YAML front matter) or as Croissant."""
