"""Error types whose messages are shown to the user as one line, with the exit code they map to."""


class AlbumGenError(Exception):
    """Base for errors the CLI prints as ``error: <message>``."""

    exit_code = 1


class InputError(AlbumGenError):
    """Bad user input (file, option, config): exit code 2."""

    exit_code = 2


class ConfigError(InputError):
    """config.yaml or an override is invalid."""


class BackendError(AlbumGenError):
    """A model backend failed or is unavailable: exit code 1."""


class MissingExtraError(BackendError):
    """A backend's optional dependency is not installed."""

    def __init__(self, package: str, extra: str):
        super().__init__(f"{package} is not installed; install it with: pip install 'albumgen[{extra}]'")


class SpecError(ValueError):
    """A spec field value was rejected; the message says what is allowed (fed back to the model)."""


_SECRETS: set[str] = set()


def register_secret(value: str) -> str:
    """Remember a secret read from the environment so that `redact` can strip it from any output."""
    if value and len(value) >= 6:
        _SECRETS.add(value)
    return value


def redact(text: str) -> str:
    """Replace every registered secret in text (errors, traces, logs) by '***'."""
    for secret in _SECRETS:
        text = text.replace(secret, "***")
    return text


def require(module: str, extra: str):
    """Import a heavy optional module lazily, turning ImportError into a helpful message."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(module.split(".")[0], extra) from exc
