"""Reading the folder: the tree walk, imaging, the feature cache, identical files, features."""
