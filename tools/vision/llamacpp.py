"""Vision GGUF models through llama-cpp-python chat handlers (LLaVA 1.5/1.6, Moondream, Qwen2.5-VL, ...)."""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from tools.cover import Cover
from tools.errors import BackendError, ConfigError, require
from tools.registry import STDIO_SWAP, BackendOptions, cores_in_turn, missing
from tools.vision.base import CoverDescription, VisionBackend, describe_prompt, image_data_url

HANDLERS = {"llava-1.5": "Llava15ChatHandler", "llava-1.6": "Llava16ChatHandler",
            "moondream": "MoondreamChatHandler", "qwen2.5-vl": "Qwen25VLChatHandler"}


class LlamaCppVisionOptions(BackendOptions):
    model: str  # path to the language-model GGUF
    mmproj: str  # path to the CLIP projector GGUF that goes with it
    handler: Literal["llava-1.5", "llava-1.6", "moondream", "qwen2.5-vl"] = "llava-1.5"
    n_ctx: int = 4096
    n_gpu_layers: int = 0
    max_tokens: int = 300


class LlamaCppVision(VisionBackend):
    """A GGUF vision model: the chat handler feeds the image (as a data URL) through the mmproj."""

    name = "llama-cpp"
    Options = LlamaCppVisionOptions

    def _check_files(self) -> tuple[Path, Path]:
        paths = Path(self.options.model).expanduser(), Path(self.options.mmproj).expanduser()
        for label, path in zip(("model", "mmproj"), paths):
            if not path.is_file():
                raise ConfigError(f"llama-cpp vision: {label} file {path} not found: give the path to the .gguf file")
        return paths

    def availability(self) -> tuple[bool, str]:
        if missing("llama_cpp"):
            return False, "llama-cpp-python not installed: pip install 'albumgen[llama]'"
        try:
            self._check_files()
        except ConfigError as exc:
            return False, str(exc)
        return True, "ready"

    @functools.cached_property
    def _llama(self):
        model, mmproj = self._check_files()
        llama_cpp = require("llama_cpp", "llama", "llama-cpp-python")
        llama_chat_format = require("llama_cpp.llama_chat_format", "llama", "llama-cpp-python")
        handler_cls = getattr(llama_chat_format, HANDLERS[self.options.handler])
        try:
            with STDIO_SWAP:  # llama-cpp-python swaps stdout/stderr while it loads
                handler = handler_cls(clip_model_path=str(mmproj), verbose=False)
                return llama_cpp.Llama(model_path=str(model), chat_handler=handler, n_ctx=self.options.n_ctx,
                                       n_gpu_layers=self.options.n_gpu_layers, verbose=False)
        except (ValueError, RuntimeError, OSError) as exc:
            raise BackendError(f"llama-cpp vision: cannot load {model.name} with {mmproj.name}: "
                               f"{str(exc).splitlines()[0][:160]}") from None

    def describe(self, cover: Cover) -> CoverDescription:
        messages = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": image_data_url(cover.image)}},
                                                 {"type": "text", "text": describe_prompt()}]}]
        llama = self._llama
        with STDIO_SWAP, cores_in_turn():  # the image embedding swaps stdout/stderr too
            out = llama.create_chat_completion(messages=messages, max_tokens=self.options.max_tokens, temperature=0)
        return self._answer(cover, out["choices"][0]["message"].get("content") or "")
