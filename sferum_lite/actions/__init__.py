"""The only code that writes. Each do_* runs in one transaction, writes its audit row in that
same transaction and commits once. Business rules a view can't see in advance (a race, a name
taken a moment ago) come back as ActionError with a message for the user."""


class ActionError(Exception):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
