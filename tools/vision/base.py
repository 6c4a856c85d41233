"""The vision backend interface and its result, CoverDescription."""
from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Any

from tools.cover import Cover
from tools.registry import Backend
from tools.vocab import prompt_path


@dataclass(frozen=True)
class CoverDescription:
    """What a vision backend saw: text for the agent, structured facts for the trace."""

    text: str
    backend: str
    model: str
    details: dict[str, Any] = field(default_factory=dict)


class VisionBackend(Backend):
    """Describes a cover (colours, subject, style, era cues, text, atmosphere)."""

    @abstractmethod
    def describe(self, cover: Cover) -> CoverDescription: ...

    def _result(self, text: str, **details: Any) -> CoverDescription:
        return CoverDescription(text=text.strip(), backend=self.name, model=self.model_id, details=details)


def describe_prompt() -> str:
    """The instruction every vision-language model gets (prompts/describe_cover.txt)."""
    return prompt_path("describe_cover.txt").read_text(encoding="utf-8").strip()


def image_data_url(image, max_side: int = 768) -> str:
    """A JPEG base64 data URL of a PIL image, for OpenAI-compatible and llama.cpp vision APIs."""
    import base64
    import io

    img = image.copy()
    img.thumbnail((max_side, max_side))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
