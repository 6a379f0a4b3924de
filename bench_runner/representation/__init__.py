"""representation stage."""
