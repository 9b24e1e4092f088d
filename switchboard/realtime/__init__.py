"""Real-time: the event bus, live connections, the signaling relay and the /ws gateway."""
