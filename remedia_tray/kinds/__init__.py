"""The grouping policy: which photos form a group of which kind, and which copy stays.

`base.py` says what a kind is (`GroupKind`) and holds the groups a sort extends; one module
per kind (`duplicates.py`, `similar.py`; a video kind would be a third); `library.py` runs
them over a scan in a scope (the loose photos, only the new ones, or all of them).
"""
