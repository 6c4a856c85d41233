"""Shared fixtures: offline tiny models saved with save_pretrained, covers, configs and a CLI runner."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.models import distinct_codewords, tiny_acestep, tiny_musicgen, tiny_musicgen_parts, tiny_stable_audio

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    """Tiny models on 2 shared cores: one thread keeps timings stable."""
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_musicgen_dir(tmp_path_factory) -> Path:
    """A tiny random MusicGen (T5 + EnCodec 32 kHz + 4 codebooks) saved like a hub checkpoint."""
    return tiny_musicgen(tmp_path_factory.mktemp("tiny-musicgen"))


@pytest.fixture(scope="session")
def tiny_acestep_dir(tmp_path_factory) -> Path:
    return tiny_acestep(tmp_path_factory.mktemp("tiny-acestep"))


@pytest.fixture(scope="session")
def tiny_stable_audio_dir(tmp_path_factory) -> Path:
    return tiny_stable_audio(tmp_path_factory.mktemp("tiny-stable-audio"))


@pytest.fixture(scope="session")
def tiny_musicgen_melody_dir(tmp_path_factory) -> Path:
    from transformers import MusicgenMelodyConfig, MusicgenMelodyDecoderConfig, MusicgenMelodyForConditionalGeneration

    out = tmp_path_factory.mktemp("tiny-musicgen-melody")
    text_cfg, audio_cfg, _dec, processor = tiny_musicgen_parts()
    dec_cfg = MusicgenMelodyDecoderConfig(vocab_size=64, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                          ffn_dim=128, num_codebooks=4, pad_token_id=64, bos_token_id=64,
                                          decoder_start_token_id=64, max_position_embeddings=512)
    cfg = MusicgenMelodyConfig(text_encoder=text_cfg, audio_encoder=audio_cfg, decoder=dec_cfg, num_chroma=12,
                               chroma_length=235)
    melody = MusicgenMelodyForConditionalGeneration(cfg)
    distinct_codewords(melody)
    melody.save_pretrained(out)
    # MusicgenMelodyFeatureExtractor needs torchaudio, which has no build for torch 2.13: text-only processor
    processor.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_llava_dir(tmp_path_factory) -> Path:
    """A tiny random LLaVA (CLIP vision + Llama text) with its processor and chat template."""
    import torch
    from transformers import (
        CLIPVisionConfig,
        LlamaConfig,
        LlamaTokenizer,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("tiny-llava")
    chars = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,:;!?'-▁")
    tok = LlamaTokenizer(vocab={t: i for i, t in enumerate(["<unk>", "<s>", "</s>", "<image>", "<pad>"] + chars)},
                         merges=[], unk_token="<unk>", bos_token="<s>", eos_token="</s>")
    tok.add_special_tokens({"pad_token": "<pad>", "additional_special_tokens": ["<image>"]})
    template = ("{% for message in messages %}{% if message['role'] == 'user' %}USER: {% else %}ASSISTANT: {% endif %}"
                "{% if message['content'] is string %}{{ message['content'] }}{% else %}{% for item in message['content'] %}"
                "{% if item['type'] == 'image' %}<image>\n{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}"
                "{% endfor %}{% endif %} {% endfor %}{% if add_generation_prompt %}ASSISTANT:{% endif %}")
    image_id = tok.convert_tokens_to_ids("<image>")
    vis = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                           image_size=32, patch_size=8, projection_dim=32)
    txt = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    cfg = LlavaConfig(vision_config=vis, text_config=txt, image_token_index=image_id,
                      vision_feature_select_strategy="default", vision_feature_layer=-1, image_seq_length=16)
    LlavaForConditionalGeneration(cfg).save_pretrained(out)
    LlavaProcessor(image_processor=CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}),
                   tokenizer=tok, patch_size=8, vision_feature_select_strategy="default", num_additional_image_tokens=1,
                   chat_template=template).save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def night_cover_path(tmp_path_factory) -> Path:
    return ROOT / "covers" / "midnight-orbit.png"


@pytest.fixture()
def config_file(tmp_path):
    """Write a config.yaml derived from the project's, with per-test changes: config_file({'profiles': ...})."""

    def make(changes: dict | None = None) -> Path:
        data = yaml.safe_load((ROOT / "config.yaml").read_text())
        for key, value in (changes or {}).items():
            data[key] = value
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(data))
        return path

    return make


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: int = 300):
    """Run the real `albumgen` entry point in a subprocess; returns CompletedProcess with text output."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "agent.cli", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd or ROOT, timeout=timeout)


# CI sets CI=1, and some libraries print when it is set (pyfluidsynth's import wrote "'fluidsynth' was found at ..."
# into stdout, before `--json`'s object): every test runs as it would in CI.
os.environ.setdefault("CI", "1")

# Runs are logged to the run store by default: keep the tests' store out of the user's data dir.
os.environ["ALBUMGEN_HOME"] = str(Path(__import__("tempfile").mkdtemp(prefix="albumgen-home-")))
