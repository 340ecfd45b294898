"""Use cases the API calls: each turns one user intent into Temporal calls."""
