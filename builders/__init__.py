"""Stage 1: sources -> segments -> translation (+ back-translation) -> dataset rows."""
