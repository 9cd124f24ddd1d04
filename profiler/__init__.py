"""The statistics engine. Pure Python: it never imports Django or anything else of the project.

`profiler.api` is how it is used (plan a source once, profile its parts, finish the profile), and
`profiler.result` the shape of the profile it returns; `python -m profiler` prints one.
"""
