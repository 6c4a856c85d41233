"""The agent's prompt texts (prompts/agent.yaml) and what fills them: a template rendered, the guided step
for a setter, the plan so far in a line. Shared by the agent loop, the guided planner and chat."""
from __future__ import annotations

import functools
import json
from typing import Any

from tools.spec import MusicSpec, SpecEditor
from tools.vocab import prompt_table, vocabulary


@functools.cache
def agent_prompts() -> dict[str, Any]:
    return prompt_table("agent.yaml")


def render(template: str, **values: Any) -> str:
    import jinja2

    return jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(template).render(**values).strip()


def step_instruction(tool: str, spec: MusicSpec) -> str:
    vocab = vocabulary()
    genre = vocab.genres.get(spec.genre or "ambient") or vocab.genres["ambient"]
    return render(agent_prompts()["guided_steps"][tool], genres=", ".join(vocab.genres), moods=", ".join(vocab.moods),
                  genre=genre.name, tempo_low=genre.tempo[0], tempo_high=genre.tempo[1],
                  time_signatures=", ".join(vocab.time_signatures), genre_meter=genre.time_signature,
                  instruments=", ".join(vocab.instruments))


def spec_summary(editor: SpecEditor) -> str:
    data = editor.spec.model_dump(exclude={"duration_s", "seed"}, exclude_none=True)
    data = {k: v for k, v in data.items() if v not in ((), [])}
    return json.dumps(data, ensure_ascii=False) if data else "nothing decided yet"
