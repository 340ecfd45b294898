"""Adapters for what lies outside the system (the video platform), each with a local fake."""
