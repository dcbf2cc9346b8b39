"""Input problems the caller can fix, each with a stable machine-readable code."""


class InputError(ValueError):
    """Raised for a request the service understood but cannot use; maps to a 4xx answer."""

    def __init__(self, code: str, detail: str, status: int = 422) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.status = status
