"""The errors of a dependency the platform cannot use: each says which service, where, and what to do next."""


class ServiceUnavailable(RuntimeError):
    def __init__(self, service: str, address: str, cause: object, setting: str, start: str = "lol-platform stack up` (or `make dev"):
        self.service = service
        self.address = address
        super().__init__(
            f"{service} is not reachable at {address}: {cause}. "
            f"Start the local stack with `{start}`, "
            f"or point {setting} at a running {service}."
        )


class ServiceRejected(ServiceUnavailable):
    """The service answered but refused us: credentials, certificate or permission. Reaching it again will not
    help; the message names the setting to fix. (A subclass, so every handler of an unusable service has it.)"""

    def __init__(self, service: str, address: str, problem: str, fix: str):
        self.service = service
        self.address = address
        RuntimeError.__init__(self, f"{service} at {address} refused the platform: {problem}. {fix}")
