"""The errors derive raises; the command line maps each to its exit code."""


class DeriveError(Exception):
    """Base of derive's own errors."""


class InputError(DeriveError, ValueError):
    """Bad input from the user (exit code 2): one line naming what is wrong and what is allowed."""


class NotSupportedError(InputError):
    """Valid input that derive deliberately does not handle (exit code 2)."""


class CheckError(DeriveError):
    """A derived equality failed its symbolic or numeric check; names the step. Never emitted silently."""

    def __init__(self, step: str, detail: str) -> None:
        super().__init__(f"step {step!r} failed its check: {detail}")
        self.step = step
