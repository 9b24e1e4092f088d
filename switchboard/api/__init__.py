"""HTTP and WebSocket adapters: parse, call one service, serialise."""
