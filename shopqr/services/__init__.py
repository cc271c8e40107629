"""The domain: plain arguments in, models out. No request or g; the caller commits."""


class DomainError(Exception):
    """Bad input or a state that forbids the action: the view answers with a 4xx and `message`."""

    status = 422

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class NotFound(DomainError):
    status = 404
