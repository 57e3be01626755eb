"""The version, apart from the package root so that no module imports the root for it."""

__version__ = "0.1.0"
