"""OpenAI-compatible synchronous Images APIs (InfinityBlue, Starrise/Anyfast, OpenAI, gateways)."""
