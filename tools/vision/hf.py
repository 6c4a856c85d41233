"""LLaVA-style vision-language models through transformers (hub id or local folder)."""
from __future__ import annotations

import functools
from typing import Literal

from tools.cover import Cover
from tools.devices import resolve_device, resolve_dtype
from tools.errors import BackendError, require
from tools.registry import BackendOptions, hub_model_status
from tools.vision.base import CoverDescription, VisionBackend, describe_prompt


class TransformersVisionOptions(BackendOptions):
    model: str = "llava-hf/llava-interleave-qwen-0.5b-hf"
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    max_new_tokens: int = 300


class TransformersVision(VisionBackend):
    """AutoModelForImageTextToText (LlavaForConditionalGeneration and kin) with the model's chat template."""

    name = "transformers"
    Options = TransformersVisionOptions

    def availability(self) -> tuple[bool, str]:
        return hub_model_status(self.options.model, "transformers")

    @functools.cached_property
    def _loaded(self):
        require("torch", "transformers")
        transformers = require("transformers", "transformers")
        o = self.options
        device = resolve_device(o.device)
        dtype = resolve_dtype(o.dtype, device)
        try:
            processor = transformers.AutoProcessor.from_pretrained(o.model)
            model = transformers.AutoModelForImageTextToText.from_pretrained(o.model, dtype=dtype).to(device).eval()
        except (OSError, ValueError) as exc:
            raise BackendError(f"transformers vision: cannot load {o.model!r} ({str(exc).splitlines()[0][:160]}): "
                               "give a hub id you have cached or a local folder saved with save_pretrained") from None
        return model, processor, device

    def describe(self, cover: Cover) -> CoverDescription:
        import torch

        model, processor, device = self._loaded
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": describe_prompt()}]}]
        prompt = processor.apply_chat_template(messages, add_generation_prompt=True)
        inputs = processor(images=cover.image, text=prompt, return_tensors="pt").to(device)
        with torch.inference_mode():
            out = model.generate(**inputs, max_new_tokens=self.options.max_new_tokens, do_sample=False)
        text = processor.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True).strip()
        return self._answer(cover, text, generated_tokens=int(out.shape[1] - inputs["input_ids"].shape[1]))
