"""Offline MusicGen builders shared by the test fixtures and the benchmarks: random weights from configs,
saved with save_pretrained so the code under test loads them by path exactly like a hub checkpoint."""
from __future__ import annotations

from pathlib import Path

# the published musicgen-small / -medium decoder shapes (T5-base text encoder, EnCodec 32 kHz, 4 x 2048 codes)
REAL_SIZES = {"small": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, ffn_dim=4096),
              "medium": dict(hidden_size=1536, num_hidden_layers=48, num_attention_heads=24, ffn_dim=6144)}


def t5_vocab(words: list[str]) -> list[tuple[str, float]]:
    """A small word-piece vocabulary for an in-memory T5Tokenizer: specials, the words, then single characters."""
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)] + [("▁" + w, -5.0) for w in words]
    return vocab + [(c, -10.0) for c in "abcdefghijklmnopqrstuvwxyz0123456789,./-"]


def offline_processor():
    """A MusicGen processor with a small word-piece T5 tokenizer built in memory (no download)."""
    from transformers import EncodecFeatureExtractor, MusicgenProcessor, T5Tokenizer

    words = "calm dark jazz ambient piano drums synth bass guitar strings bpm minor major time energy low high".split()
    vocab = t5_vocab(words)
    return MusicgenProcessor(feature_extractor=EncodecFeatureExtractor(feature_size=1, sampling_rate=32000),
                             tokenizer=T5Tokenizer(vocab=vocab, extra_ids=0))


def tiny_musicgen_parts():
    """Configs of a tiny MusicGen (T5, EnCodec 32 kHz with 4 codebooks of 64, a 2-layer decoder) and its processor."""
    import torch
    from transformers import EncodecConfig, MusicgenDecoderConfig, T5Config

    torch.manual_seed(0)
    processor = offline_processor()
    tok = processor.tokenizer
    text_cfg = T5Config(vocab_size=len(tok), d_model=32, d_ff=64, num_layers=2, num_heads=4, d_kv=8,
                        pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
                        decoder_start_token_id=tok.pad_token_id)
    audio_cfg = EncodecConfig(hidden_size=16, num_filters=4, compress=1, codebook_size=64, codebook_dim=16,
                              sampling_rate=32000, upsampling_ratios=[8, 5, 4, 4], num_lstm_layers=1,
                              target_bandwidths=[1.2], normalize=False)  # 4 codebooks of 64 at 50 Hz
    dec_cfg = MusicgenDecoderConfig(vocab_size=64, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                    ffn_dim=128, num_codebooks=4, pad_token_id=64, bos_token_id=64,
                                    decoder_start_token_id=64, max_position_embeddings=512, tie_word_embeddings=False)
    return text_cfg, audio_cfg, dec_cfg, processor


def tiny_musicgen(out: Path) -> Path:
    """A tiny random MusicGen saved like a hub checkpoint to `out`."""
    from transformers import MusicgenConfig, MusicgenForConditionalGeneration

    text_cfg, audio_cfg, dec_cfg, processor = tiny_musicgen_parts()
    model = MusicgenForConditionalGeneration(MusicgenConfig(text_encoder=text_cfg, audio_encoder=audio_cfg, decoder=dec_cfg))
    distinct_codewords(model)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out


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


# -- diffusion engines: tiny random ACE-Step 1.5 and Stable Audio Open pipelines at their real sample rates ----
_WORDS = ("calm dark jazz ambient piano drums synth bass guitar strings bpm minor major time energy low high rock "
          "electric instrumental stereo quality seconds duration keyscale timesignature instruction caption metas "
          "fill the audio semantic mask based on given conditions language lyrics en intro verse chorus outro "
          "bridge").split()


def tiny_acestep(out: Path) -> Path:
    """A tiny random AceStepPipeline (Qwen3 text encoder with an in-memory word-level tokenizer, 2-layer DiT,
    Oobleck VAE at 48 kHz stereo with ACE-Step's 1920x downsampling: 25 latents a second), saved to `out`."""
    import torch
    from diffusers import AceStepPipeline, AutoencoderOobleck, FlowMatchEulerDiscreteScheduler
    from diffusers.models.transformers.ace_step_transformer import AceStepTransformer1DModel
    from diffusers.pipelines.ace_step import AceStepConditionEncoder
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3Model

    vocab = {t: i for i, t in enumerate(["<|endoftext|>", "<unk>", *_WORDS, *"abcdefghijklmnopqrstuvwxyz0123456789#-:.,[]"])}
    words = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    words.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=words, unk_token="<unk>", pad_token="<|endoftext|>",
                                        eos_token="<|endoftext|>")
    torch.manual_seed(0)
    small = dict(hidden_size=32, intermediate_size=64, num_attention_heads=4, num_key_value_heads=2, head_dim=8)
    transformer = AceStepTransformer1DModel(num_hidden_layers=2, in_channels=24, audio_acoustic_hidden_dim=8, patch_size=2,
                                            rope_theta=10000.0, sliding_window=16, **small)
    text_encoder = Qwen3Model(Qwen3Config(num_hidden_layers=2, vocab_size=len(vocab) + 8, max_position_embeddings=512,
                                          **small))
    condition = AceStepConditionEncoder(text_hidden_dim=32, timbre_hidden_dim=8, num_lyric_encoder_hidden_layers=2,
                                        num_timbre_encoder_hidden_layers=2, rope_theta=10000.0, sliding_window=16, **small)
    vae = AutoencoderOobleck(encoder_hidden_size=6, downsampling_ratios=[2, 4, 4, 6, 10], decoder_channels=4,
                             decoder_input_channels=8, audio_channels=2, channel_multiples=[1, 1, 2, 2, 2],
                             sampling_rate=48000)
    AceStepPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, transformer=transformer,
                    condition_encoder=condition,
                    scheduler=FlowMatchEulerDiscreteScheduler(num_train_timesteps=1, shift=1.0)).save_pretrained(out)
    return out


def tiny_stable_audio(out: Path, sample_size: int = 128) -> Path:
    """A tiny random StableAudioPipeline (T5 encoder with an in-memory tokenizer, 2-layer DiT, Oobleck VAE at
    44.1 kHz stereo with 2048x downsampling); `sample_size` latents make its longest take (128: 5.9 s)."""
    import torch
    from diffusers import (
        AutoencoderOobleck,
        CosineDPMSolverMultistepScheduler,
        StableAudioDiTModel,
        StableAudioPipeline,
    )
    from diffusers.pipelines.stable_audio import StableAudioProjectionModel
    from transformers import T5Config, T5EncoderModel, T5Tokenizer

    vocab = t5_vocab(_WORDS)
    torch.manual_seed(0)
    text_encoder = T5EncoderModel(T5Config(vocab_size=len(vocab), d_model=16, d_ff=32, num_layers=2, num_heads=2, d_kv=8))
    transformer = StableAudioDiTModel(sample_size=sample_size, in_channels=8, num_layers=2, attention_head_dim=8,
                                      num_attention_heads=2, num_key_value_attention_heads=1, out_channels=8,
                                      cross_attention_dim=16, time_proj_dim=8, global_states_input_dim=16,
                                      cross_attention_input_dim=8)
    vae = AutoencoderOobleck(encoder_hidden_size=6, downsampling_ratios=[2, 4, 4, 8, 8], decoder_channels=4,
                             decoder_input_channels=8, audio_channels=2, channel_multiples=[1, 1, 2, 2, 2],
                             sampling_rate=44100)
    scheduler = CosineDPMSolverMultistepScheduler(solver_order=2, prediction_type="v_prediction", sigma_data=1.0,
                                                  sigma_schedule="exponential")
    StableAudioPipeline(vae=vae, text_encoder=text_encoder, tokenizer=T5Tokenizer(vocab=vocab, extra_ids=0, model_max_length=128),
                        projection_model=StableAudioProjectionModel(text_encoder_dim=16, conditioning_dim=8, min_value=0,
                                                                    max_value=512),
                        transformer=transformer, scheduler=scheduler).save_pretrained(out)
    return out
