"""Translation engines: a protocol and a registry with lazy imports."""
