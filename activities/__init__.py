"""Side effects of the order workflow: money, the projection, the video platform."""
