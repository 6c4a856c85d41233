"""Where torch models run: 'auto' picks CUDA when present; 'auto' dtype is fp16 on CUDA, fp32 elsewhere."""
from __future__ import annotations


def resolve_device(name: str) -> str:
    import torch

    return ("cuda" if torch.cuda.is_available() else "cpu") if name == "auto" else name


def resolve_dtype(name: str, device: str):
    import torch

    return (torch.float16 if device == "cuda" else torch.float32) if name == "auto" else getattr(torch, name)
