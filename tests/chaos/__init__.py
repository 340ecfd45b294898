"""Fault-injection tests: processes killed, servers restarted, the database cut off, requests
repeated concurrently. Marked `chaos`; `make chaos` runs only them, `make test` runs them too."""
