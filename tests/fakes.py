"""Test doubles for the agent loop only: a scripted chat model and a loopback OpenAI-compatible server.

They script what a *model* says; every tool, validator and backend under test is the real code.
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict


def call(name: str, **args) -> AIMessage:
    """An AIMessage asking for one tool call."""
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"c{time.perf_counter_ns()}",
                                              "type": "tool_call"}])


class ScriptedChatModel(BaseChatModel):
    """Pops one scripted AIMessage per call; records what each call was offered."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    script: list = []
    seen: list = []

    def enqueue(self, *messages: AIMessage) -> ScriptedChatModel:
        self.script.extend(messages)
        return self

    def bind_tools(self, tools, *, tool_choice=None, **kwargs):
        return self.bind(tool_names=[getattr(t, "name", None) for t in tools], tool_choice=tool_choice)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        self.seen.append({"messages": messages, **kwargs})
        if not self.script:
            raise AssertionError("the scripted model ran out of answers")
        return ChatResult(generations=[ChatGeneration(message=self.script.pop(0))])


def openai_tool_call(name: str, args: Any, i: int = 0) -> dict:
    """A chat.completions message with one tool call; args may be a dict or a raw (broken) string."""
    raw = args if isinstance(args, str) else json.dumps(args)
    return {"content": None, "tool_calls": [{"id": f"call_{i}_{name}", "type": "function",
                                             "function": {"name": name, "arguments": raw}}]}


def completion(msg: dict, model: str = "scripted", n: int = 1) -> dict:
    """A chat.completion body around one assistant message."""
    return {"id": f"chatcmpl-{n}", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", **msg},
                         "finish_reason": "tool_calls" if msg.get("tool_calls") else "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}


class _Loopback:
    """A stdlib HTTP server on 127.0.0.1 at a random free port, serving in a daemon thread."""

    def _serve(self, handler) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class LoopbackOpenAI(_Loopback):
    """A stdlib OpenAI-compatible server on 127.0.0.1 (random port) answering from a script."""

    def __init__(self, script: list[dict] | None = None):
        self.script, self.requests = list(script or []), []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, code: int, obj: dict):
                body = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                outer.requests.append({"path": self.path, "body": req, "auth": self.headers.get("Authorization")})
                if not outer.script:
                    return self._send(500, {"error": {"message": "script exhausted"}})
                self._send(200, completion(outer.script.pop(0), req.get("model", "scripted"), len(outer.requests)))

        self._serve(Handler)


class FaultyOpenAI(_Loopback):
    """A loopback OpenAI-compatible server that misbehaves on purpose. Each request takes the next action
    (the last one repeats): {"status": 503}, {"status": 429, "headers": {"Retry-After": "1"}}, {"sleep": 3},
    {"raw": b"..."} (a broken body), {"echo_auth": True} (a 500 that echoes the Authorization header),
    or {"message": {...}} (a normal answer)."""

    def __init__(self, actions: list[dict]):
        self.actions, self.requests = list(actions), []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _body(self, code: int, body: bytes, headers: dict | None = None):
                try:
                    self._send_body(code, body, headers)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to answer

            def _send_body(self, code: int, body: bytes, headers: dict | None = None):
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                outer.requests.append(req)
                action = outer.actions.pop(0) if len(outer.actions) > 1 else outer.actions[0]
                if "sleep" in action:
                    time.sleep(action["sleep"])
                    return self._body(200, b"{}")
                if "raw" in action:
                    return self._body(200, action["raw"])
                if action.get("echo_auth"):
                    return self._body(500, json.dumps({"error": {"message": f"bad key {self.headers.get('Authorization')}"}}).encode())
                if "status" in action:
                    return self._body(action["status"], json.dumps({"error": {"message": f"injected {action['status']}"}}).encode(),
                                      action.get("headers"))
                self._body(200, json.dumps(completion(action["message"], "stub")).encode())

        self._serve(Handler)
