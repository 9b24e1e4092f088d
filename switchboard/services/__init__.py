"""Use cases: one transaction each, events published after commit."""
