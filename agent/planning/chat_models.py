"""LangChain chat models for local LLMs: llama-cpp-python GGUF and transformers causal LMs.

Both support bind_tools with a forced tool_choice (the guided mode the agent uses with small models):
llama.cpp constrains the output to the tool's JSON schema by grammar; transformers parses JSON.
"""
from __future__ import annotations

import json
import re
import threading
import uuid
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, PrivateAttr

from tools.registry import cores_in_turn


def to_plain_messages(messages: list[BaseMessage]) -> list[dict[str, str]]:
    """Messages as system/user/assistant text, which every GGUF chat template accepts."""
    out = []
    for m in messages:
        if isinstance(m, SystemMessage):
            out.append({"role": "system", "content": str(m.content)})
        elif isinstance(m, ToolMessage):
            out.append({"role": "user", "content": f"Result of {m.name or 'the tool'}: {m.content}"})
        elif isinstance(m, AIMessage):
            text = str(m.content or "")
            if m.tool_calls:
                text = (text + "\n" if text else "") + json.dumps(
                    [{"name": c["name"], "arguments": c["args"]} for c in m.tool_calls])
            out.append({"role": "assistant", "content": text})
        else:
            out.append({"role": "user", "content": str(m.content)})
    return out


def forced_tool_name(tools: list[dict], tool_choice: Any) -> str | None:
    """The one tool a tool_choice forces, or None for free choice."""
    if isinstance(tool_choice, dict):
        return tool_choice.get("function", {}).get("name") or tool_choice.get("name")
    if tool_choice in ("any", "required") and len(tools) == 1:
        return tools[0]["function"]["name"]
    if isinstance(tool_choice, str) and tool_choice not in ("auto", "none", "any", "required"):
        return tool_choice
    return None


def parse_tool_calls(raw_calls: list[dict]) -> tuple[list[dict], list[dict]]:
    """OpenAI-style tool_calls -> (valid LangChain tool calls, invalid ones with the JSON error)."""
    valid, invalid = [], []
    for call in raw_calls or []:
        fn = call.get("function", {})
        call_id = call.get("id") or f"call_{uuid.uuid4().hex[:12]}"
        try:
            args = json.loads(fn.get("arguments") or "{}")
            if not isinstance(args, dict):
                raise ValueError("arguments are not a JSON object")
            valid.append({"name": fn.get("name", ""), "args": args, "id": call_id, "type": "tool_call"})
        except ValueError as exc:
            invalid.append({"name": fn.get("name"), "args": fn.get("arguments"), "id": call_id,
                            "error": f"arguments are not valid JSON: {exc}", "type": "invalid_tool_call"})
    return valid, invalid


class _ToolBindingChatModel(BaseChatModel):
    """Shared bind_tools: converts tools to OpenAI format and passes tool_choice through."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    model_name: str = "local"
    # one local model (a llama.cpp context, a transformers model with its caches), one caller at a time: web
    # sessions and batch threads share it; every call of a subclass goes through this lock
    _in_use: Any = PrivateAttr(default_factory=threading.RLock)

    def bind_tools(self, tools, *, tool_choice=None, **kwargs):
        formatted = [convert_to_openai_tool(t) for t in tools]
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}


class LlamaCppChatModel(_ToolBindingChatModel):
    """llama_cpp.Llama as a LangChain chat model with grammar-constrained forced tool calls."""

    llama: Any
    temperature: float = 0.2
    max_tokens: int = 256
    _scored_prefix: tuple | None = None  # the (head, cover) tokens score_continuations left in the cache
    _cache: Any = None

    @property
    def score_cache(self):
        """(prompt, candidate) -> log-prob: deterministic, so each is computed once, and kept on disk
        (agent.planning.score_cache) for every later process with the same model file."""
        if self._cache is None:
            from agent.planning.score_cache import ScoreCache, llama_identity

            identity = llama_identity(self.llama)
            self._cache = ScoreCache.for_model(identity and f"{identity}|layout {SCORE_LAYOUT}")
        return self._cache

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    def _generate(self, messages, stop=None, run_manager=None, tools=None, tool_choice=None, **kwargs) -> ChatResult:
        with self._in_use:
            return self._complete(messages, stop, tools, tool_choice)

    def _complete(self, messages, stop, tools, tool_choice) -> ChatResult:
        request: dict[str, Any] = dict(messages=to_plain_messages(messages), temperature=self.temperature,
                                       max_tokens=self.max_tokens, stop=stop)
        forced = forced_tool_name(tools or [], tool_choice)
        if tools:
            request["tools"] = tools
            request["tool_choice"] = {"type": "function", "function": {"name": forced}} if forced else "auto"
        self._scored_prefix = None  # generation evaluates in its own layout: scoring starts afresh after it
        llama = self.llama
        with cores_in_turn():
            response = llama.create_chat_completion(**request)
        message = response["choices"][0]["message"]
        valid, invalid = parse_tool_calls(message.get("tool_calls") or [])
        usage = response.get("usage") or {}
        ai = AIMessage(content=message.get("content") or "", tool_calls=valid, invalid_tool_calls=invalid,
                       usage_metadata={"input_tokens": usage.get("prompt_tokens", 0),
                                       "output_tokens": usage.get("completion_tokens", 0),
                                       "total_tokens": usage.get("total_tokens", 0)})
        return ChatResult(generations=[ChatGeneration(message=ai)])

    def score_continuations(self, messages: list[BaseMessage], candidates: list[str],
                            persist: bool = False) -> list[float]:
        """log p(candidate | messages) for each candidate as the assistant's answer, summed over its tokens.
        `persist`: keep the scores on disk for later processes (questions asked in every run, calibration).

        Deterministic: the same messages and candidate always give the same number, whatever else was scored
        before or in which order. The prompt is split around its `<cover>` block: the head before it (the
        system prompt, the same for every cover) and the block itself are each evaluated as one batch, at the
        same positions, and reused while nothing else has touched the cache; then the rest as a batch, the last
        token alone, and each candidate's tokens one by one on top, at the same positions for every candidate."""
        with self._in_use:
            prompt, cache = self._chat_prompt(messages), self.score_cache
            missing = cache.missing(prompt, candidates)
            if missing:  # the "(no cover)" calibration questions repeat in every run: only the first ever pays
                with cores_in_turn():
                    scores = self._score(prompt, missing)
                cache.put(prompt, dict(zip(missing, scores)), persist)
            return cache.get(prompt, candidates)

    def _score(self, prompt: str, candidates: list[str]) -> list[float]:
        llama = self.llama
        parts = _layout(prompt)
        tokens = [llama.tokenize(part.encode("utf-8"), add_bos=False, special=True) if part else [] for part in parts]
        first = self._eval_prompt(*tokens)
        end = sum(map(len, tokens))
        after: dict[tuple[int, ...], Any] = {(): first}  # log-probs after each candidate prefix, evaluated once
        held: list[int] = []  # the candidate tokens now in the cache after the prompt
        scores = []
        for text in candidates:
            cand = llama.tokenize(text.encode("utf-8"), add_bos=False, special=False)
            for k in range(1, len(cand)):  # a prefix another candidate shares ("14" of 146 and 148) is not redone
                if tuple(cand[:k]) not in after:
                    same = next((j for j, (a, b) in enumerate(zip(held, cand[:k])) if a != b), min(len(held), k - 1))
                    llama.n_tokens = end + same  # the tokens before are in the cache: one by one from there
                    for j in range(same, k):
                        llama.eval([cand[j]])
                        after[tuple(cand[: j + 1])] = _last_logprobs(llama)
                    held = cand[:k]
            scores.append(sum(float(after[tuple(cand[:k])][token]) for k, token in enumerate(cand)))
        llama.n_tokens = end  # back to the prompt; the next eval drops the candidates
        return scores

    def _chat_prompt(self, messages: list[BaseMessage]) -> str:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        llama = self.llama
        template = llama.metadata.get("tokenizer.chat_template")
        plain = to_plain_messages(messages)
        if not template:
            return "\n".join(f"{m['role']}: {m['content']}" for m in plain) + "\nassistant: "
        eos = llama.detokenize([llama.token_eos()], special=True).decode("utf-8", "ignore")
        bos = llama.detokenize([llama.token_bos()], special=True).decode("utf-8", "ignore")
        return Jinja2ChatFormatter(template, eos_token=eos, bos_token=bos)(messages=plain).prompt

    def _eval_prompt(self, head: list[int], cover: list[int], rest: list[int]):
        """Evaluate head + cover + rest in the fixed layout described above; the log-probs of the next token.
        The head (the system prompt, the same for every cover) and the cover stay in the cache while they are
        what the next prompt starts with: a new cover evaluates only its own block and the question."""
        llama = self.llama
        kept = self._scored_prefix or ((), ())
        have = llama.input_ids[: llama.n_tokens].tolist() if llama.n_tokens else []
        if kept[0] != tuple(head) or have[: len(head)] != head:
            kept = ((), ())
            llama.n_tokens = 0
            if head:
                llama.eval(head)
        if kept[1] != tuple(cover) or have[len(head): len(head) + len(cover)] != cover:
            llama.n_tokens = len(head)
            if cover:
                llama.eval(cover)
        self._scored_prefix = (tuple(head), tuple(cover))
        llama.n_tokens = len(head) + len(cover)
        if len(rest) > 1:
            llama.eval(rest[:-1])
        llama.eval(rest[-1:])
        return _last_logprobs(llama)


SCORE_LAYOUT = 2  # scores kept on disk are of this layout: a new layout starts new files


def _layout(prompt: str) -> tuple[str, str, str]:
    """A scoring prompt as (head, cover, rest): the text before its `<cover>` block, the block through
    `</cover>`, and the question after it (head and cover empty without a block)."""
    start, end = prompt.find("<cover>"), prompt.find("</cover>")
    if start < 0 or end < start:
        return "", "", prompt
    end += len("</cover>")
    return prompt[:start], prompt[start:end], prompt[end:]


def _last_logprobs(llama):
    """Log-softmax of the logits llama.cpp computed for the last evaluated token."""
    import llama_cpp
    import numpy as np

    n_vocab = llama.n_vocab()
    logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llama.ctx, -1), shape=(n_vocab,)).astype(np.float64)
    top = logits.max()
    return logits - top - np.log(np.exp(logits - top).sum())


_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


class TransformersChatModel(_ToolBindingChatModel):
    """A transformers causal LM; a forced tool call is asked for as JSON arguments and parsed."""

    model: Any
    tokenizer: Any
    max_new_tokens: int = 200
    temperature: float = 0.2

    @classmethod
    def load(cls, model_id: str, device: str = "auto", **kwargs) -> TransformersChatModel:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from tools.devices import resolve_device
        from tools.errors import BackendError

        dev = resolve_device(device)
        try:
            tok = AutoTokenizer.from_pretrained(model_id)
            model = AutoModelForCausalLM.from_pretrained(model_id).to(dev).eval()
        except (OSError, ValueError) as exc:
            raise BackendError(f"transformers: cannot load {model_id!r}: {str(exc).splitlines()[0][:160]}") from None
        return cls(model=model, tokenizer=tok, model_name=model_id, **kwargs)

    @property
    def _llm_type(self) -> str:
        return "transformers"

    def _prompt(self, messages, forced: str | None, tools: list[dict]) -> str:
        plain = to_plain_messages(messages)
        if forced:
            schema = next(t["function"]["parameters"] for t in tools if t["function"]["name"] == forced)
            plain.append({"role": "user", "content": f"Answer only with a JSON object of arguments for {forced} "
                                                     f"matching this schema: {json.dumps(schema)}"})
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(plain, tokenize=False, add_generation_prompt=True)
        return "\n".join(f"{m['role']}: {m['content']}" for m in plain) + "\nassistant:"

    def _generate(self, messages, stop=None, run_manager=None, tools=None, tool_choice=None, **kwargs) -> ChatResult:
        with self._in_use:
            return self._complete(messages, tools, tool_choice)

    def _complete(self, messages, tools, tool_choice) -> ChatResult:
        import torch

        forced = forced_tool_name(tools or [], tool_choice)
        inputs = self.tokenizer(self._prompt(messages, forced, tools or []), return_tensors="pt").to(self.model.device)
        with torch.inference_mode():
            out = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=self.temperature > 0,
                                      temperature=max(self.temperature, 1e-3),
                                      pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id)
        new = out[0, inputs["input_ids"].shape[1]:]
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        valid, invalid = [], []
        if forced:
            match = _JSON_OBJECT.search(text)
            raw = match.group(0) if match else text
            valid, invalid = parse_tool_calls([{"function": {"name": forced, "arguments": raw}}])
        ai = AIMessage(content="" if valid else text, tool_calls=valid, invalid_tool_calls=invalid,
                       usage_metadata={"input_tokens": int(inputs["input_ids"].shape[1]),
                                       "output_tokens": int(new.shape[0]),
                                       "total_tokens": int(inputs["input_ids"].shape[1] + new.shape[0])})
        return ChatResult(generations=[ChatGeneration(message=ai)])
