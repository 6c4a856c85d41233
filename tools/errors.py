"""Error types whose messages are shown to the user as one line, with the exit code they map to.

The failure rules every backend follows, in one place:
- bad input or configuration (a file, a flag, a config key) raises InputError / ConfigError naming the
  value and the fix: `error: ...`, exit code 2, before anything is written;
- a backend that cannot run or answer (a model that fails to load, an empty description, a server that is
  down) raises BackendError naming the backend and the cause: exit code 1, the partial trace kept;
- a missing optional package is imported only through `require(module, extra)`, which raises
  MissingExtraError naming the extra to install;
- a value a model sent that a tool rejects is a SpecError, fed back to the model as a tool error, never
  shown to the user as a failure.
Secrets are redacted from every message (`redact`)."""


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


def require(module: str, extra: str, package: str | None = None):
    """Import a heavy optional module lazily, turning ImportError into a message naming the extra
    (`package`: the name pip knows it by, when that is not the module's)."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(package or module.split(".")[0], extra) from exc
