"""Benchmarks: `make bench` (orders over HTTP against a bare-SDK baseline), `make bench-scale`
(10,000 open orders, 1,000 timers firing at once), `make bench-square` (the creator square with
100,000 creators). Figures and how to read them: docs/PERFORMANCE.md.

Nothing here is imported by the product, and no test asserts a wall-clock figure."""
