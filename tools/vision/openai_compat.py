"""Any OpenAI-compatible vision chat endpoint (OpenAI, vLLM, Ollama, LM Studio, llama.cpp server)."""
from __future__ import annotations

import functools

from tools.cover import Cover
from tools.endpoints import OpenAIEndpoint, api_key, base_url, key_status
from tools.errors import BackendError, require
from tools.registry import missing
from tools.vision.base import CoverDescription, VisionBackend, describe_prompt, image_data_url


class OpenAIVisionOptions(OpenAIEndpoint):
    max_tokens: int = 400


class OpenAIVision(VisionBackend):
    """Sends the cover as a base64 JPEG data URL in a chat completion."""

    name = "openai"
    Options = OpenAIVisionOptions

    def describe_backend(self) -> dict:
        return {**super().describe_backend(), "base_url": self._base_url()}

    def availability(self) -> tuple[bool, str]:
        return (False, "openai not installed: pip install 'albumgen[openai]'") if missing("openai") else \
            key_status(self.options.api_key_env, self._base_url())

    def _base_url(self) -> str | None:
        return base_url(self.options.base_url)

    @functools.cached_property
    def _client(self):
        openai = require("openai", "openai")
        return openai.OpenAI(base_url=self._base_url(), api_key=api_key(self.options.api_key_env, "openai vision"),
                             timeout=self.options.timeout_s, max_retries=self.options.max_retries)

    def describe(self, cover: Cover) -> CoverDescription:
        import openai

        content = [{"type": "text", "text": describe_prompt()},
                   {"type": "image_url", "image_url": {"url": image_data_url(cover.image)}}]
        try:
            out = self._client.chat.completions.create(model=self.options.model, max_tokens=self.options.max_tokens,
                                                       messages=[{"role": "user", "content": content}])
        except openai.OpenAIError as exc:
            raise BackendError(f"openai vision ({self._base_url() or 'api.openai.com'}): {type(exc).__name__}: "
                               f"{str(exc).splitlines()[0][:200]}") from None
        return self._answer(cover, (out.choices[0].message.content or "") if out.choices else "")
