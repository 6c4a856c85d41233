"""The vision backend interface and its result, CoverDescription: prose plus numbered evidence."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from tools.cover import Cover
from tools.errors import BackendError
from tools.grounding.evidence import EvidenceSet, answer_evidence, colour_evidence
from tools.registry import Backend
from tools.vocab import prompt_path


@dataclass(frozen=True)
class CoverDescription:
    """What a vision backend saw: prose for people and the agent, numbered evidence (E1, E2, ...) that
    decisions cite, and backend facts for the trace."""

    text: str
    backend: str
    model: str
    evidence: EvidenceSet = EvidenceSet()
    details: dict[str, Any] = field(default_factory=dict)

    def for_agent(self) -> str:
        """What the agent reads: the evidence it must cite, then the prose."""
        listed = self.evidence.as_prompt()
        if self.text == listed:  # the offline describer's prose is its evidence
            return f"Evidence (cite these ids):\n{listed}"
        return f"Evidence (cite these ids):\n{listed}\n\nDescription:\n{self.text}"


class VisionBackend(Backend, ABC):
    """Describes a cover (colours, subject, style, era cues, text, atmosphere) and returns evidence."""

    @abstractmethod
    def describe(self, cover: Cover) -> CoverDescription: ...

    def _result(self, text: str, evidence: EvidenceSet, **details: Any) -> CoverDescription:
        return CoverDescription(text=text.strip(), backend=self.name, model=self.model_id, evidence=evidence,
                                details=details)

    def _answer(self, cover: Cover, text: str, **details: Any) -> CoverDescription:
        """A vision-language model's answer: its questionnaire lines become evidence beside the colour
        measurements every backend gets from the pixels. An empty answer is a backend failure."""
        text = (text or "").strip()
        if not text:
            raise BackendError(f"{self.name} vision: {self.model_id} returned an empty description")
        evidence = EvidenceSet.number(colour_evidence(cover.image) + answer_evidence(text))
        return self._result(text, evidence, **details)


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
