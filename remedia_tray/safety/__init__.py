"""Writing the folder safely: locking, the journal, moves and undo, decisions, the saved report."""
