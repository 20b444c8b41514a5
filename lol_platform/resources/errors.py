"""The one error type for an unreachable dependency: it says which service, where, and what to do."""


class ServiceUnavailable(RuntimeError):
    def __init__(self, service: str, address: str, cause: object, setting: str, start: str = "lol-platform stack up` (or `make dev"):
        self.service = service
        self.address = address
        super().__init__(
            f"{service} is not reachable at {address}: {cause}. "
            f"Start the local stack with `{start}`, "
            f"or point {setting} at a running {service}."
        )
