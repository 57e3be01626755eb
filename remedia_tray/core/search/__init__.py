"""Neighbour search: every pair within a threshold, exact (or, past 200,000 embeddings, nearly
so), without an N x N matrix.

One module per family, each returning `pairs.Neighbours`:
hash (dHash + pHash rows; brute force or the multi-index plan of hash_plan), cosine
(embeddings; tiled, pruned, or the approximate index of ann), and grid (short vectors within
a Euclidean radius). The rotation-aware search of the bundled AI engine lives next to it, in
engines/effnet_search.py.
"""
