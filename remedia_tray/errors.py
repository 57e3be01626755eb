"""Library errors; each carries its exit code for the CLI."""

from __future__ import annotations


class RemediaError(Exception):
    """Base of every error the library raises on purpose."""

    exit_code = 1


class FolderNotFound(RemediaError):
    exit_code = 2


class FolderBusy(RemediaError):
    """Another sort or undo holds the folder's lock."""

    exit_code = 3


class NothingToUndo(RemediaError):
    exit_code = 4


class EngineUnavailable(RemediaError):
    exit_code = 5


class UnreadableImage(RemediaError):
    """A file that cannot be used as an image; the message is the reason shown to the user."""


class UnsafeRuntimeDir(RemediaError):
    """The tray's runtime folder is not private to this user, so the hand-off refuses it."""


class OutsideFolder(RemediaError):
    """A folder ReMedia would write in is a symlink, or not inside FOLDER: nothing goes there."""

    def __init__(self, message: str, *, short: str = "") -> None:
        super().__init__(message)
        #: The same, said shortly, for a line that already names the file it stopped.
        self.short = short or message

    def before_any_move(self) -> OutsideFolder:
        """The same refusal, for a run it stopped before it moved anything."""
        return OutsideFolder(f"{self}; nothing was moved", short=self.short)
