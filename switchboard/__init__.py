"""Switchboard: self-hosted 1:1 audio/video calling."""
