"""The statistics engine. Pure Python: it never imports Django or anything else of the project."""
