"""OpenAI-compatible endpoints (OpenAI, vLLM, Ollama, LM Studio, llama.cpp server): their settings,
where the key comes from (only ever an environment variable), and whether one is usable now."""
from __future__ import annotations

import os

from tools.errors import BackendError, register_secret
from tools.registry import BackendOptions


class OpenAIEndpoint(BackendOptions):
    model: str = "gpt-4o-mini"
    base_url: str | None = None  # default: $OPENAI_BASE_URL, else OpenAI
    api_key_env: str | None = None  # the variable holding the key; local servers need none
    timeout_s: float = 60.0
    max_retries: int = 2


def base_url(configured: str | None) -> str | None:
    return configured or os.environ.get("OPENAI_BASE_URL") or None


def api_key(env_name: str | None, backend: str) -> str:
    """The key from the environment variable named in config; local servers need none."""
    if not env_name:
        return "not-needed"
    value = os.environ.get(env_name)
    if not value:
        raise BackendError(f"{backend}: environment variable {env_name} is not set: export it "
                           "(named by api_key_env in config.yaml)")
    return register_secret(value)


def key_status(env_name: str | None, url: str | None) -> tuple[bool, str]:
    where = url or "api.openai.com"
    if not env_name:
        return True, f"ready ({where}, no key needed)"
    if not os.environ.get(env_name):
        return False, f"{env_name} is not set: export it to use {where}"
    return True, f"ready ({where}, key from {env_name})"
