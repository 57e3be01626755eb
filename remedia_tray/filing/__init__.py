"""Filing the photos, and the record of it: the folder lock, journaled moves and undo, the
user's decisions, the saved report, and the declared formats of every file ReMedia stores."""
