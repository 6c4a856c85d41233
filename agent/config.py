"""config.yaml: every backend and default in one pydantic-validated file, with named profiles."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tools.errors import ConfigError
from tools.limits import MAX_DURATION_S, MIN_DURATION_S
from tools.registry import BackendOptions, Registry, format_validation_error


def default_config_path() -> Path:
    """The project's config.yaml: the checkout's top-level file, or in an installed wheel the copy that
    setup.py ships inside the prompts/ package data."""
    from tools.vocab import PROMPTS_DIR

    beside = PROMPTS_DIR.parent / "config.yaml"
    return beside if beside.is_file() else PROMPTS_DIR / "config.yaml"


SECRET_KEYS = ("api_key", "token", "password", "secret")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BackendChoice(BaseModel):
    """`backend: NAME` plus that backend's own options (validated by its Options class)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    backend: str

    @model_validator(mode="after")
    def _no_literal_secrets(self):
        for key in self.options_dict():
            if any(word in key.lower() for word in SECRET_KEYS) and not key.endswith("_env"):
                raise ValueError(f"{key!r} must not hold a secret in config.yaml: "
                                 f"name an environment variable with {key}_env instead")
        return self

    def options_dict(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class LLMChoice(BackendChoice):
    mode: Literal["auto", "guided", "free"] = "auto"
    # guided mode: tries this model gets to write a rationale citing evidence (None: agent.rationale_tries)
    rationale_tries: int | None = Field(None, ge=0, le=5)


class WorkerResources(_Strict):
    """What one batch worker of a profile needs: its memory (for the default --workers) and, on Ray, the
    CPUs and GPUs its actor requests."""

    memory_gb: float = Field(2.0, gt=0, le=1024)
    num_cpus: float = Field(1.0, gt=0, le=256)
    num_gpus: float = Field(0.0, ge=0, le=16)


class Profile(_Strict):
    description: str = ""
    vision: BackendChoice
    llm: LLMChoice
    music: BackendChoice
    worker: WorkerResources = WorkerResources()


class Defaults(_Strict):
    duration_s: float = Field(30.0, ge=MIN_DURATION_S, le=MAX_DURATION_S)
    output_dir: str = "out"
    audio_format: Literal["wav", "flac"] = "wav"
    stream: bool = True  # first audio as soon as a take sounds, before verification and the run folder


class VerifySettings(_Strict):
    enabled: bool = True
    attempts: int = Field(3, ge=1, le=10)
    tempo_tolerance: float = Field(0.04, gt=0, le=0.5)


class AgentSettings(_Strict):
    max_steps: int = Field(24, ge=4, le=200)
    max_retries: int = Field(2, ge=0, le=10)
    model_weight: float = Field(0.5, ge=0.0, le=4.0)
    rationale_tries: int = Field(1, ge=0, le=5)


class WebSettings(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(7860, ge=1, le=65535)
    max_concurrent_generations: int = Field(1, ge=1, le=16)


class CatalogSettings(_Strict):
    default: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    k: int = Field(5, ge=1, le=50)
    embedder: str = Field("efficientnet-lite0", pattern=r"^(efficientnet-lite0|clip:.+)$")


class BatchSettings(_Strict):
    workers: int | None = Field(None, ge=1, le=256)  # None: what the cores and the profile's worker.memory_gb allow
    timeout_s: float = Field(1800.0, ge=0, le=86400)  # per cover; 0: none
    max_retries: int = Field(2, ge=0, le=10)  # a cover whose worker died is retried this many times


class AppConfig(_Strict):
    default_profile: str
    defaults: Defaults = Defaults()
    agent: AgentSettings = AgentSettings()
    verify: VerifySettings = VerifySettings()
    web: WebSettings = WebSettings()
    catalog: CatalogSettings = CatalogSettings()
    batch: BatchSettings = BatchSettings()
    profiles: dict[str, Profile]
    aliases: dict[str, LLMChoice] = {}

    @model_validator(mode="after")
    def _default_exists(self):
        if self.default_profile not in self.profiles:
            raise ValueError(f"default_profile {self.default_profile!r} is not among profiles "
                             f"({', '.join(self.profiles)})")
        return self


def registries() -> dict[str, Registry]:
    from agent.planning.llm import LLM_BACKENDS
    from tools.music import MUSIC_BACKENDS
    from tools.vision import VISION_BACKENDS

    return {"vision": VISION_BACKENDS, "llm": LLM_BACKENDS, "music": MUSIC_BACKENDS}


def validate_choice(kind: str, choice: BackendChoice, where: str) -> BackendOptions:
    """Check a section's backend name and options against that backend's Options."""
    return registries()[kind].options(choice.backend, choice.options_dict(), where)


def config_path(path: str | os.PathLike | None = None) -> Path:
    return Path(path or os.environ.get("ALBUMGEN_CONFIG") or default_config_path())


def load_config(path: str | os.PathLike | None = None) -> AppConfig:
    """Read and validate config.yaml; every error is one line naming the file, key and fix."""
    import yaml

    file = config_path(path)
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {file} not found: pass --config PATH or set ALBUMGEN_CONFIG") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{file}{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: expected a mapping with 'profiles' at the top level")
    try:
        config = AppConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{file}: {format_validation_error(exc)}") from None
    for name, profile in config.profiles.items():
        for kind in ("vision", "llm", "music"):
            validate_choice(kind, getattr(profile, kind), f"{file}: profiles.{name}.{kind}")
    for name, alias in config.aliases.items():
        validate_choice("llm", alias, f"{file}: aliases.{name}")
    return config


def parse_model_flag(value: str, config: AppConfig, kind: str = "llm", **extra: Any) -> BackendChoice:
    """`-m` / `--vision-model` values: an alias from config.yaml (agent LLM only), or BACKEND:MODEL
    (openai:gpt-4o-mini, llama-cpp:PATH.gguf, transformers:HUB_ID_OR_PATH); `extra` adds options such as
    base_url or mmproj to the backend that takes them."""
    if kind == "llm" and value in config.aliases:
        choice = config.aliases[value]
        cls = registries()["llm"].get(choice.backend)
        update = {k: v for k, v in extra.items() if v is not None and k in cls.Options.model_fields}
        return LLMChoice(**{**choice.model_dump(), **update})
    backend, sep, model = value.partition(":")
    names = registries()[kind].names()
    if backend in names and not sep and kind == "vision":
        sep, model = ":", ""
    if not sep or backend not in names or (not model and backend != "offline"):
        allowed = ", ".join([f"{n}:MODEL" for n in names] + (list(config.aliases) if kind == "llm" else []))
        flag = "--model" if kind == "llm" else "--vision-model"
        raise ConfigError(f"unknown {'model' if kind == 'llm' else 'vision model'} {value!r} for {flag}: use one of {allowed}")
    options = {"model": model} if model else {}
    cls = registries()[kind].get(backend)
    options.update({k: v for k, v in extra.items() if v is not None and k in cls.Options.model_fields})
    choice = (LLMChoice if kind == "llm" else BackendChoice)(backend=backend, **options)
    validate_choice(kind, choice, f"{'--model' if kind == 'llm' else '--vision-model'} {value}")
    return choice


@dataclass(frozen=True)
class Setup:
    """What a profile and the overrides asked for resolve to: the backends to build (with their options), the
    catalogue whose covers become evidence (None: off) and a batch worker's resources. Every entry point
    (generate, chat, web, batch, catalogue evaluation) resolves through `resolve`, so the same flags mean the
    same thing and fail with the same one-line errors everywhere."""

    profile: str
    vision: BackendChoice
    llm: LLMChoice
    music: BackendChoice
    catalog: str | None
    worker: WorkerResources

    def where(self, kind: str) -> str:
        """Where a backend's configuration came from, for its error messages."""
        return f"profiles.{self.profile}.{kind}"


def resolve(config: AppConfig, profile: str | None = None, model: str | None = None,
            vision_model: str | None = None, base_url: str | None = None, mmproj: str | None = None,
            catalog: str | None = None) -> Setup:
    """profile → backends → options: the profile (config.yaml's default_profile unless asked), its agent LLM
    and describer unless -m / --vision-model override them (base_url and mmproj go to the backends that take
    them), and the catalogue (catalog.default unless --catalog; "none" turns it off)."""
    name = profile or config.default_profile
    if name not in config.profiles:
        raise ConfigError(f"unknown profile {name!r}: use one of {', '.join(config.profiles)}")
    prof = config.profiles[name]
    llm = parse_model_flag(model, config, base_url=base_url) if model else prof.llm
    vision = parse_model_flag(vision_model, config, "vision", base_url=base_url, mmproj=mmproj) if vision_model \
        else prof.vision
    wanted = config.catalog.default if catalog is None else catalog
    return Setup(profile=name, vision=vision, llm=llm, music=prof.music,
                 catalog=None if not wanted or wanted == "none" else wanted, worker=prof.worker)


def masked(config: AppConfig) -> dict[str, Any]:
    """The resolved config as plain data, with which secret env vars are set (never their values)."""
    data = config.model_dump(mode="json")

    def walk(node):
        if isinstance(node, dict):
            for key, value in list(node.items()):
                if key.endswith("_env") and isinstance(value, str):
                    node[key] = f"{value} ({'set' if os.environ.get(value) else 'not set'})"
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(data)
    return data


def config_of(ctx) -> AppConfig:
    """The configuration a CLI command runs with: --config's file, or the default one (one resolution for
    every command group)."""
    return load_config(ctx.obj["config"])
