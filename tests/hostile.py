"""Hostile input the tests send to the service: shared by the in-process and the over-HTTP tests."""

# 517 bytes of YAML whose aliases stand for 9**9 strings: it grew a worker by 60 MB/s until it was killed.
ALIAS_BOMB = """---
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
task_categories: *i
---

## Dataset Summary

Boom.
"""


def deep(levels: int) -> str:
    """JSON nested `levels` deep."""
    return "[" * levels + "]" * levels
