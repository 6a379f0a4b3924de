"""capability stage."""
