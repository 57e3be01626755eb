"""The pure core: strictness, keepers, grouping, neighbour search and planning (no I/O)."""
