"""The tool-calling agent: guided (one forced tool call per step, for small models) or free
(langchain `create_agent`, the model picks the order). Every LLM and tool call lands in the trace."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import StructuredTool, ToolException
from langchain_core.tools.base import create_schema_from_function
from pydantic import ValidationError

from agent.planning.prompting import agent_prompts, render, spec_summary, step_instruction  # noqa: F401
from agent.trace import Trace
from tools.errors import AlbumGenError, BackendError, SpecError
from tools.registry import format_validation_error
from tools.spec import SETTERS, MusicSpec, SpecEditor
from tools.vocab import vocabulary

GENERATE = "generate_music"


class TraceCallback(BaseCallbackHandler):
    """Records every chat-model call (what it was offered, what it asked for, tokens, time)."""

    def __init__(self, trace: Trace):
        self.trace, self._started = trace, {}

    def on_chat_model_start(self, serialized, messages, *, run_id, **kwargs):
        params = kwargs.get("invocation_params") or {}
        tools = [t.get("function", {}).get("name") for t in params.get("tools") or []]
        self._started[run_id] = (self.trace.now_ms(), tools, params.get("tool_choice"), len(messages[0]))

    def on_llm_end(self, response, *, run_id, **kwargs):
        start, tools, choice, n_messages = self._started.pop(run_id, (self.trace.now_ms(), [], None, 0))
        message = response.generations[0][0].message
        usage = getattr(message, "usage_metadata", None) or {}
        self.trace.add("llm_call", getattr(message, "response_metadata", {}).get("model_name") or "chat", start, detail={
            "messages_in": n_messages, "tools_offered": tools, "tool_choice": choice,
            "content": str(message.content or "")[:2000],
            "tool_calls": [{"name": c["name"], "args": c["args"]} for c in getattr(message, "tool_calls", [])],
            "invalid_tool_calls": [{"name": c.get("name"), "error": c.get("error")}
                                   for c in getattr(message, "invalid_tool_calls", [])],
            "tokens": {k: usage.get(k) for k in ("input_tokens", "output_tokens") if k in usage}})

    def on_llm_error(self, error, *, run_id, **kwargs):
        start = self._started.pop(run_id, (self.trace.now_ms(),))[0]
        self.trace.add("llm_call", "chat", start, error=f"{type(error).__name__}: {str(error)[:300]}")


class ToolBox:
    """The agent's allow-list of tools: the spec setters and generate_music. Executes and traces calls."""

    def __init__(self, editor: SpecEditor, trace: Trace, generate_music: Callable[[], str],
                 allowed: tuple[str, ...] = SETTERS, lookups: dict[str, Callable[[], str]] | None = None):
        """`allowed`: the setters this run may use (single runs: SETTERS; chat turns: EDIT_TOOLS, which
        add duration and new-take edits). `lookups`: read-only tools without arguments (find_similar_covers
        when a catalogue is on). Nothing outside the list can be called."""
        self.editor, self.trace = editor, trace
        self.functions: dict[str, Callable[..., str]] = {name: getattr(editor, name) for name in allowed}
        self.functions.update(lookups or {})
        self.functions[GENERATE] = generate_music
        self.schemas = {name: create_schema_from_function(name, fn) for name, fn in self.functions.items()}
        self.generated = False

    def description(self, name: str) -> str:
        fn = self.functions[name]
        doc = fn.__doc__ or ""
        return " ".join(doc.split()) or name

    def execute(self, name: str, args: dict[str, Any]) -> tuple[bool, str]:
        """Validate and run one call; a bad call returns (False, error text for the model), never raises."""
        start = self.trace.now_ms()
        if name not in self.functions:
            error = f"unknown tool {name!r}: use one of {', '.join(self.functions)}"
            self.trace.add("tool_call", name, start, arguments=args, error=error)
            return False, error
        incoherent = self.editor.plan_problems() if name == GENERATE else []
        if incoherent:
            error = "the plan is not coherent yet: " + "; ".join(incoherent)
            self.trace.add("tool_call", name, start, arguments=args, error=error)
            return False, error
        unexpected = sorted(set(args or {}) - set(self.schemas[name].model_fields))
        if unexpected:  # no silent extras: a tool never takes a path, URL or anything it did not declare
            takes = ", ".join(self.schemas[name].model_fields) or "no arguments"
            error = f"invalid arguments for {name}: unexpected {', '.join(unexpected)} (it takes {takes})"
            self.trace.add("tool_call", name, start, arguments=args, error=error)
            return False, error
        try:
            clean = self.schemas[name].model_validate(args or {}).model_dump(exclude_none=True)
            result = self.functions[name](**clean)
        except ValidationError as exc:
            error = f"invalid arguments for {name}: {format_validation_error(exc)}"
        except SpecError as exc:
            error = str(exc)
        else:
            self.trace.add("tool_call", name, start, arguments=args, result=result)
            self.generated |= name == GENERATE
            return True, result
        self.trace.add("tool_call", name, start, arguments=args, error=error)
        return False, error

    def langchain_tools(self, names: list[str] | None = None) -> list[StructuredTool]:
        def make(name: str) -> StructuredTool:
            def call(**kwargs):
                ok, text = self.execute(name, kwargs)
                if not ok:
                    raise ToolException(f"error: {text}")
                return text

            # no return_direct on generate_music: LangGraph would end the run even when the call failed
            return StructuredTool(name=name, description=self.description(name), func=call,
                                  args_schema=self.schemas[name].model_json_schema(), handle_tool_error=True)

        return [make(n) for n in (names or list(self.functions))]


def fallback_value(tool: str, spec: MusicSpec) -> dict[str, Any]:
    """The genre default a step falls back to when there is no evidence to rank options with (a plan made
    without a cover description, as in tests of the loop alone). With evidence, the prior decides."""
    vocab = vocabulary()
    genre = vocab.genres.get(spec.genre or "ambient") or vocab.genres["ambient"]
    why = f"fallback: {genre.name} default"
    if tool == "set_genre":
        return {"genre": "ambient", "rationale": "fallback: no valid genre from the model"}
    if tool == "set_mood":
        mood = "calm" if genre.mode == "major" else "melancholic"
        return {"moods": [mood], "energy": vocab.moods[mood]["energy"], "valence": vocab.moods[mood]["valence"],
                "rationale": why}
    if tool == "set_tempo":
        return {"bpm": genre.default_tempo, "rationale": why}
    if tool == "set_key":
        return {"key": "C" if genre.mode == "major" else "A", "mode": genre.mode, "rationale": why}
    if tool == "set_time_signature":
        return {"time_signature": genre.time_signature, "rationale": why}
    if tool == "set_instruments":
        return {"instruments": list(genre.instruments), "rationale": why}
    return {"era": "modern", "rationale": why}


def _brief(args: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in args.items() if k != "rationale")


def model_failure(exc: Exception, label: str) -> BackendError:
    """One line naming the backend and the cause of a failed model call (transport errors were already
    retried with backoff by the client: 429 honouring Retry-After, 5xx, timeouts, refused connections)."""
    kinds = {c.__name__ for c in type(exc).__mro__}  # openai's classes, or wrappers that subclass them
    name, status = type(exc).__name__, getattr(exc, "status_code", None)
    if "APITimeoutError" in kinds:
        cause = "the server did not answer in time (read timeout)"
    elif "APIConnectionError" in kinds:
        cause = "cannot connect (connection refused or reset): is the server running?"
    elif status == 429:
        cause = "rate limited (HTTP 429) on every retry: wait and try again"
    elif status in (401, 403):
        cause = f"not authorised (HTTP {status}): check the API key environment variable in config.yaml"
    elif status is not None:
        cause = f"HTTP {status}: {str(getattr(exc, 'message', exc)).splitlines()[0][:160]}"
    elif kinds & {"APIResponseValidationError", "JSONDecodeError", "ValidationError"} or "JSON" in str(exc)[:200]:
        cause = "the server sent a malformed response (not valid chat-completion JSON)"
    else:
        cause = f"{name}: {str(exc).splitlines()[0][:160] if str(exc) else 'no detail'}"
    return BackendError(f"llm {label}: {cause}")


class Agent:
    """Runs one refinement: from a description (and optional listener request) to a generated take."""

    def __init__(self, chat_model, toolbox: ToolBox, trace: Trace, max_steps: int = 24, max_retries: int = 2,
                 label: str = "model", model_weight: float = 0.5, rationale_tries: int = 1):
        """`model_weight`: how much the model's measured preference counts against the evidence prior in
        guided mode (log p_prior + weight * log p_model); `rationale_tries`: attempts a model gets to write a
        rationale that cites the evidence before one is composed from it."""
        self.model, self.toolbox, self.trace, self.label = chat_model, toolbox, trace, label
        self.max_steps, self.max_retries = max_steps, max_retries
        self.model_weight, self.rationale_tries = model_weight, rationale_tries
        self.callbacks = [TraceCallback(trace)]

    @property
    def prior(self):
        return self.toolbox.editor.prior

    def planner(self, description: str):
        from agent.planning.guided import GuidedPlanner

        return GuidedPlanner(self, self.prior, description, self.model_weight)

    def run(self, mode: str, description: str, steps: tuple[str, ...] = SETTERS) -> None:
        """Plan a new spec from the description, then generate."""
        if mode == "guided":
            self.run_guided(description, steps)
        else:
            self.run_free(description)
        self.finish()

    def refine(self, description: str, request: str, history: str = "", suggestions: str = "") -> None:
        """Free mode: the model changes the spec as the listener asks with the edit tools, given what the
        request's words suggest (agent/chat/refine.py), then generates. Guided chat never gets here: its edits
        come from the request reader, or it asks."""
        self.run_free(description, request, history, suggestions)
        self.finish()

    def apply(self, edits, source: str) -> None:
        """Edits read from the request itself go through the same validated, traced tools."""
        for edit in edits:
            self.trace.add("note", edit.tool, self.trace.now_ms(), result=f"{source} read this edit from the request")
            self.toolbox.execute(edit.tool, edit.arguments)

    # -- guided: one forced call per decision ------------------------------------------------
    def run_guided(self, description: str, steps: tuple[str, ...]) -> None:
        if self.prior is not None:  # evidence to rank options with: decisions without positional bias
            planner = self.planner(description)
            for tool in steps:
                planner.decide(tool)
            self.repair()
            self._generate_after_plan()
            return
        system = SystemMessage(agent_prompts()["system"].strip())
        for tool in steps:
            task = render(agent_prompts()["guided_task"], description=description,
                          spec=spec_summary(self.toolbox.editor), instruction=step_instruction(tool, self.toolbox.editor.spec))
            self._guided_step(tool, [system, HumanMessage(task)])
        self._generate_after_plan()

    def _generate_after_plan(self) -> None:
        start = self.trace.now_ms()
        self.trace.add("note", GENERATE, start, result="guided mode: every decision is made, so the runner calls "
                                                        "generate_music")
        ok, text = self.toolbox.execute(GENERATE, {})
        if not ok:
            raise BackendError(f"music: {text}")

    def _guided_step(self, tool: str, messages: list, fallback: bool = True) -> None:
        bound = self.model.bind_tools(self.toolbox.langchain_tools([tool]), tool_choice=tool)
        error = ""
        for _attempt in range(self.max_retries + 1):
            ai: AIMessage = self.ask(bound, messages)
            calls = [c for c in ai.tool_calls if c["name"] == tool]
            if calls:
                ok, text = self.toolbox.execute(tool, calls[0]["args"])
                if ok:
                    return
                error = text
                messages = messages + [ai, ToolMessage(f"error: {text}", tool_call_id=calls[0]["id"], name=tool)]
            else:
                bad = ai.invalid_tool_calls[0]["error"] if ai.invalid_tool_calls else "the answer had no tool call"
                error = f"{tool}: {bad}"
                messages = messages + [HumanMessage(f"error: {error}. Call {tool} with valid JSON arguments.")]
        if fallback:
            self._fallback(tool, f"no valid {tool} call after {self.max_retries + 1} tries ({error})")
        else:
            self.trace.add("note", tool, self.trace.now_ms(), result=f"no valid {tool} call ({error}); the plan is unchanged")

    def ask(self, bound, messages) -> AIMessage:
        """One model call with this run's callbacks; every model failure becomes one clear BackendError (the
        guided planner asks through it too)."""
        try:
            return bound.invoke(messages, config={"callbacks": self.callbacks})
        except (AlbumGenError, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - every model failure becomes one clear BackendError
            raise model_failure(exc, self.label) from exc

    def _fallback(self, tool: str, reason: str) -> None:
        if self.prior is not None:  # the prior's top-ranked option with its evidence, never a fixed default
            start = self.trace.now_ms()
            self.trace.add("fallback", tool, start, result=f"{reason}; the prior decides from the evidence")
            self.trace.warnings.append(f"{reason.split(' (')[0]}; the evidence prior decided")
            self.planner("").decide(tool, use_model=False)
            return
        args = fallback_value(tool, self.toolbox.editor.spec)
        start = self.trace.now_ms()
        self.trace.add("fallback", tool, start, arguments=args, result=f"{reason}; used the documented default")
        self.trace.warnings.append(f"{reason.split(' (')[0]}; used the default {_brief(args)}")
        ok, text = self.toolbox.execute(tool, args)
        if not ok:  # a default that fails validation is a bug in the vocabulary, not a model error
            raise BackendError(f"fallback for {tool} was rejected: {text}")

    # -- free: the model chooses -------------------------------------------------------------
    def run_free(self, description: str, request: str | None = None, history: str = "", suggestions: str = "") -> None:
        from langchain.agents import create_agent
        from langgraph.errors import GraphRecursionError

        agent = create_agent(self.model, tools=self.toolbox.langchain_tools(),
                             system_prompt=agent_prompts()["system"].strip())
        started = self.toolbox.editor.spec.missing() != MusicSpec().missing()
        task = render(agent_prompts()["free_task"], description=description, prior=self.prior_summary() if not request else "",
                      spec=spec_summary(self.toolbox.editor) if started else "", request=request or "", history=history,
                      suggestions=suggestions)
        messages: list = [HumanMessage(task)]
        for _round in range(self.max_retries + 1):
            try:
                messages = agent.invoke({"messages": messages},
                                        config={"callbacks": self.callbacks, "recursion_limit": self.max_steps})["messages"]
            except GraphRecursionError:
                if self.toolbox.generated:  # the take exists; the model just would not stop talking
                    self.trace.warnings.append(f"the model kept calling tools after generate_music; stopped at "
                                               f"{self.max_steps} steps")
                    return
                raise BackendError(f"llm {self.label}: the model did not finish within {self.max_steps} steps (it "
                                   "kept calling tools): raise agent.max_steps in config.yaml or use mode: guided") from None
            except (AlbumGenError, KeyboardInterrupt):
                raise
            except Exception as exc:  # noqa: BLE001
                raise model_failure(exc, self.label) from exc
            last = messages[-1]
            if self.toolbox.generated or not (isinstance(last, AIMessage) and last.invalid_tool_calls):
                return
            messages = messages + [self._reject_invalid(bad) for bad in last.invalid_tool_calls]

    def repair(self) -> None:
        """A plan a free model left incoherent (say, the genre changed after the tempo was set): each broken
        rule's field is decided again by the prior, and the trace says so. Runs before generate_music."""
        from tools.grounding.coherence import RULES, problems
        from tools.spec import FIELD_SETTER

        editor = self.toolbox.editor
        if self.prior is None or not editor.strict or self.toolbox.generated:
            return
        for field in RULES:
            tool = FIELD_SETTER[field]
            found = problems(editor.spec, self.prior, {field})
            if found:
                self.trace.add("fallback", tool, self.trace.now_ms(), result=f"coherence: {found[0]}; the prior decides again")
                self.trace.warnings.append(f"coherence repair of {field}: {found[0]}")
                self.planner("").decide(tool, use_model=False)

    def _reject_invalid(self, bad: dict) -> ToolMessage:
        """A call whose arguments were not JSON goes back to the model as a tool error (create_agent drops it)."""
        error = f"arguments for {bad.get('name')} are not valid JSON ({bad.get('error') or 'unparseable'})"
        self.trace.add("tool_call", bad.get("name") or "?", self.trace.now_ms(), arguments={"raw": bad.get("args")},
                       error=error)
        return ToolMessage(f"error: {error}; call it again with a JSON object", tool_call_id=bad.get("id") or "invalid",
                           name=bad.get("name") or "unknown")

    def prior_summary(self) -> str:
        """The prior's three best options per setting with their evidence ids (free mode's prompt)."""
        if self.prior is None:
            return ""
        spec, lines = self.toolbox.editor.spec, []
        from tools.grounding.prior import FIELDS

        for field in FIELDS:
            top = self.prior.rank(field, spec).options[:3]
            lines.append(f"- {field}: " + "; ".join(f"{o.value} ({', '.join(o.evidence[:3]) or 'default'})" for o in top))
        affect = self.prior.affect
        lines.append(f"- energy about {affect.energy}, valence about {affect.valence} ({', '.join(affect.evidence[:4])})")
        return "\n".join(lines)

    def finish(self) -> None:
        """Fill what the model left open (the prior decides, or traced defaults without evidence), repair any
        coherence rule the plan still breaks, then make sure the music was generated."""
        from tools.spec import SETTER_FIELDS

        missing = self.toolbox.editor.spec.missing()
        for tool in SETTERS:
            field = SETTER_FIELDS[tool][0]
            if field in missing:
                self._fallback(tool, f"the model never set {field}")
        self.repair()
        if not self.toolbox.generated:
            start = self.trace.now_ms()
            self.trace.add("note", GENERATE, start, result="the model did not call generate_music; the runner called it")
            ok, text = self.toolbox.execute(GENERATE, {})
            if not ok:
                raise BackendError(f"music: {text}")
