"""Offline MusicGen builders shared by the test fixtures and the benchmarks: random weights from configs,
saved with save_pretrained so the code under test loads them by path exactly like a hub checkpoint."""
from __future__ import annotations

from pathlib import Path

# the published musicgen-small / -medium decoder shapes (T5-base text encoder, EnCodec 32 kHz, 4 x 2048 codes)
REAL_SIZES = {"small": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, ffn_dim=4096),
              "medium": dict(hidden_size=1536, num_hidden_layers=48, num_attention_heads=24, ffn_dim=6144)}


def offline_processor():
    """A MusicGen processor with a small word-piece T5 tokenizer built in memory (no download)."""
    from transformers import EncodecFeatureExtractor, MusicgenProcessor, T5Tokenizer

    words = "calm dark jazz ambient piano drums synth bass guitar strings bpm minor major time energy low high".split()
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)] + [("▁" + w, -5.0) for w in words]
    vocab += [(c, -10.0) for c in "abcdefghijklmnopqrstuvwxyz0123456789,./-"]
    return MusicgenProcessor(feature_extractor=EncodecFeatureExtractor(feature_size=1, sampling_rate=32000),
                             tokenizer=T5Tokenizer(vocab=vocab, extra_ids=0))


def distinct_codewords(model) -> None:
    """A fresh EnCodec's codebooks are all zeros, so every code would decode to the same audio; give each
    code its own random codeword, as a trained codec has."""
    import torch

    with torch.no_grad():
        for layer in model.audio_encoder.quantizer.layers:
            layer.codebook.embed.normal_()
            layer.codebook.embed_avg.copy_(layer.codebook.embed)


def real_size_musicgen(size: str, out: Path) -> int:
    """Save the real-size musicgen-small/-medium architecture with random weights to `out`; returns the
    number of decoder parameters."""
    import torch
    from transformers import (
        EncodecConfig,
        MusicgenConfig,
        MusicgenDecoderConfig,
        MusicgenForConditionalGeneration,
        T5Config,
    )

    torch.manual_seed(0)
    text = T5Config(vocab_size=32128, d_model=768, d_ff=3072, num_layers=12, num_heads=12, d_kv=64,
                    pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    audio = EncodecConfig(sampling_rate=32000, audio_channels=1, hidden_size=128, num_filters=64, codebook_size=2048,
                          codebook_dim=128, upsampling_ratios=[8, 5, 4, 4], num_lstm_layers=2,
                          target_bandwidths=[2.2], normalize=False, compress=2)
    decoder = MusicgenDecoderConfig(vocab_size=2048, num_codebooks=4, max_position_embeddings=2048, pad_token_id=2048,
                                    bos_token_id=2048, decoder_start_token_id=2048, **REAL_SIZES[size])
    model = MusicgenForConditionalGeneration(MusicgenConfig(text_encoder=text, audio_encoder=audio, decoder=decoder))
    distinct_codewords(model)
    model.save_pretrained(out)
    offline_processor().save_pretrained(out)
    return sum(p.numel() for p in model.decoder.parameters())
