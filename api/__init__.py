"""The HTTP API: authenticate, check the caller may touch the order, make one Temporal call."""
