"""The review page: pure rendering (page.py), its writer and the thumbnails."""
