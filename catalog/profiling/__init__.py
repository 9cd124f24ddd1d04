"""`python -m catalog.profiling`, the command's name from when the engine lived in the catalog: it runs
`python -m profiler`. The engine itself is the top-level package `profiler`."""
