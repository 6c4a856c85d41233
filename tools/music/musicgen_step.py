"""A lean decoder step for MusicGen's generate on CPU: the same weights and the same arithmetic as
transformers' MusicgenForCausalLM, without its per-step work.

On 2 cores, int8 musicgen-small spent about 40 ms in each call of the transformers decoder against 19 ms in its
int8 matrix products (benchmarks/music_engine.py): the rest was Python and dispatch around them — masks built
anew each step, a cache object per layer, module calls, four embedding lookups and four heads. This step keeps
the keys and values of every layer in one buffer allocated once per window, attends without a mask (a single
new position may see every earlier one), builds the cross-attention's keys, values and mask once per window,
projects the text encoder's states once per window instead of once per step, looks the four codebooks up
in one table, computes the query, key and value in one matrix product and the
four heads in another, and runs the layers as one TorchScript function (Python between the ~700 operations
of a step cost about 4 ms of its 27).

It replaces `forward` of the decoder instance, so generate (delay pattern, classifier-free guidance, sampling,
stopping criteria) is transformers' own and the watchers see the same ids. It runs when generate hands it a
cache and nothing it does not handle (labels, embeddings, a decoder attention mask, gradients); otherwise, and
for the whole of such a call, the transformers forward runs. With int8 weights the takes are the transformers
decoder's to the bit; with float weights, within rounding (tests/test_music.py).
"""
# no `from __future__ import annotations`: TorchScript reads the annotations of _layers
import functools
from typing import Any, List, Optional  # noqa: UP035 - TorchScript's spelling

import torch
import torch.nn.functional as F

Packed = torch.classes.quantized.LinearPackedParamsBase if hasattr(torch.classes, "quantized") else Any
LINEARS = 6  # per layer: query-key-value, output, cross query, cross output, fc1, fc2


def _layers(x: torch.Tensor, kv: torch.Tensor, start: int, causal: Optional[torch.Tensor],  # noqa: UP045
            cross: List[torch.Tensor], cross_mask: Optional[torch.Tensor], norms: List[torch.Tensor],  # noqa: UP006,UP045
            eps: float, packed: List[Packed], weights: List[torch.Tensor],  # noqa: UP006
            reduce_range: bool, heads: int, scaling: float) -> torch.Tensor:
    """Every decoder layer on the new positions `x` (batch, new, hidden), as MusicgenDecoderLayer computes it;
    writes their keys and values into `kv` (layers, 2, batch, heads, capacity, head_dim) from `start`. The
    linears are `packed` int8 (LINEARS per layer) or, when that is empty, float `weights`."""
    batch, new, hidden = x.shape[0], x.shape[1], x.shape[2]
    end = start + new
    head_dim = hidden // heads
    for i in range(kv.shape[0]):
        j = 6 * i  # LINEARS
        h = torch.layer_norm(x, [hidden], norms[6 * i], norms[6 * i + 1], eps)
        if len(packed) > 0:
            qkv = torch.ops.quantized.linear_dynamic(h, packed[j], reduce_range)
        else:
            qkv = F.linear(h, weights[j])
        parts = qkv.split(hidden, dim=-1)
        q = parts[0].view(batch, new, heads, head_dim).transpose(1, 2)
        kv[i, 0, :, :, start:end] = parts[1].view(batch, new, heads, head_dim).transpose(1, 2)
        kv[i, 1, :, :, start:end] = parts[2].view(batch, new, heads, head_dim).transpose(1, 2)
        a = F.scaled_dot_product_attention(q, kv[i, 0, :, :, :end], kv[i, 1, :, :, :end], attn_mask=causal,
                                           scale=scaling)
        a = a.transpose(1, 2).reshape(batch, new, hidden)
        if len(packed) > 0:
            x = x + torch.ops.quantized.linear_dynamic(a, packed[j + 1], reduce_range)
        else:
            x = x + F.linear(a, weights[j + 1])
        h = torch.layer_norm(x, [hidden], norms[6 * i + 2], norms[6 * i + 3], eps)
        if len(packed) > 0:
            q = torch.ops.quantized.linear_dynamic(h, packed[j + 2], reduce_range)
        else:
            q = F.linear(h, weights[j + 2])
        q = q.view(batch, new, heads, head_dim).transpose(1, 2)
        a = F.scaled_dot_product_attention(q, cross[2 * i], cross[2 * i + 1], attn_mask=cross_mask, scale=scaling)
        a = a.transpose(1, 2).reshape(batch, new, hidden)
        if len(packed) > 0:
            x = x + torch.ops.quantized.linear_dynamic(a, packed[j + 3], reduce_range)
        else:
            x = x + F.linear(a, weights[j + 3])
        h = torch.layer_norm(x, [hidden], norms[6 * i + 4], norms[6 * i + 5], eps)
        if len(packed) > 0:
            h = F.gelu(torch.ops.quantized.linear_dynamic(h, packed[j + 4], reduce_range))
            x = x + torch.ops.quantized.linear_dynamic(h, packed[j + 5], reduce_range)
        else:
            x = x + F.linear(F.gelu(F.linear(h, weights[j + 4])), weights[j + 5])
    return x


@functools.cache
def _scripted():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch marks TorchScript as deprecated; it is the fastest way here
        return torch.jit.script(_layers)


def install(model) -> bool:
    """Make `model.decoder` (MusicgenForCausalLM) use the lean step for generation; False where its layers are
    not the ones the step computes (then transformers' forward stays)."""
    decoder = model.decoder
    if getattr(decoder, "_lean_step", None) is not None:
        return True
    if type(decoder).__name__ != "MusicgenForCausalLM" or not _supported(decoder):
        return False
    step = LeanStep(decoder)
    decoder._lean_step = step
    decoder.forward = step.forward  # an instance attribute: nn.Module.__call__ finds it first
    proj = getattr(model, "enc_to_dec_proj", None)
    if proj is not None:
        proj.forward = _once_per_input(type(proj).forward.__get__(proj))
    return True


def _once_per_input(forward):
    """MusicGen's forward projects the text encoder's states on every step, and generate hands it the same
    tensor each time: the projection of the last input is kept while no gradient is wanted."""
    last: list = []

    def once(x):
        if torch.is_grad_enabled():
            return forward(x)
        if last and last[0] is x:
            return last[1]
        y = forward(x)
        last[:] = [x, y]
        return y

    once.forward = forward
    return once


def uninstall(model) -> None:
    decoder = model.decoder
    if getattr(decoder, "_lean_step", None) is not None:
        del decoder.forward
        decoder._lean_step = None
        proj = getattr(model, "enc_to_dec_proj", None)
        if proj is not None and "forward" in proj.__dict__:
            del proj.forward


def release(cache) -> None:
    """Free the lean step's buffers of a generate call (its keys and values), as ReleaseCache does the cache's.
    A step after that raises instead of starting over at position 0."""
    state = getattr(cache, "_lean_state", None)
    if state is not None:
        state.kv, state.cross, state.released = None, [], True


def _supported(decoder) -> bool:
    """GELU layers without biases in their linears, one LayerNorm eps, linears all int8 or all float."""
    layers = decoder.model.decoder.layers
    linears = [m for layer in layers for m in _linears(layer)] + list(decoder.lm_heads)
    int8 = [_packed(m) is not None for m in linears]
    eps = {n.eps for layer in layers for n in _norms(layer)}
    return (decoder.config.activation_function == "gelu" and len(eps) == 1 and len(set(int8)) == 1
            and all(_bias(m) is None for m in linears))


def _linears(layer):
    a, c = layer.self_attn, layer.encoder_attn
    return [a.q_proj, a.k_proj, a.v_proj, a.out_proj, c.q_proj, c.k_proj, c.v_proj, c.out_proj, layer.fc1, layer.fc2]


def _norms(layer):
    return [layer.self_attn_layer_norm, layer.encoder_attn_layer_norm, layer.final_layer_norm]


def _packed(module):
    packed = getattr(module, "_packed_params", None)
    return packed if packed is not None and packed.dtype == torch.qint8 else None


def _bias(module):
    return module.bias() if _packed(module) is not None else module.bias


def _joined(modules):
    """The int8 weights of several dynamic quantised linears as one packed weight quantised per output channel,
    each channel with its own layer's scale: activations are quantised once either way, so the product is the
    same to the bit, in one call instead of several."""
    weights = [m.weight() for m in modules]

    scales = torch.cat([torch.full((w.shape[0],), w.q_scale(), dtype=torch.double)
                        if w.qscheme() == torch.per_tensor_affine else w.q_per_channel_scales().double()
                        for w in weights])
    zeros = torch.cat([torch.full((w.shape[0],), w.q_zero_point(), dtype=torch.long)
                       if w.qscheme() == torch.per_tensor_affine else w.q_per_channel_zero_points().long()
                       for w in weights])
    stacked = torch._make_per_channel_quantized_tensor(torch.cat([w.int_repr() for w in weights]), scales, zeros, 0)
    return torch.ops.quantized.linear_prepack(stacked, None)


class _State:
    """One generate call's keys and values: self-attention (layers, 2, batch, heads, capacity, head_dim) and
    the cross-attention's, computed on the first step."""

    def __init__(self):
        self.length = 0
        self.kv = None
        self.cross: list = []
        self.cross_mask = None
        self.released = False


class LeanStep:
    def __init__(self, decoder):
        self.decoder = decoder
        self.original = type(decoder).forward.__get__(decoder)
        inner = decoder.model.decoder
        self.codebooks = int(decoder.config.num_codebooks)
        self.heads = int(decoder.config.num_attention_heads)
        self.hidden = int(decoder.config.hidden_size)
        self.head_dim = self.hidden // self.heads
        tables = [e.weight for e in inner.embed_tokens]
        self.table = torch.cat(tables, dim=0)  # one lookup for every codebook
        self.offsets = torch.tensor([i * t.shape[0] for i, t in enumerate(tables)], dtype=torch.long)
        self.positions = inner.embed_positions
        layers = list(inner.layers)
        self.norms = [t for layer in layers for n in _norms(layer) for t in (n.weight, n.bias)]
        self.eps = float(inner.layer_norm.eps)
        self.scaling = float(layers[0].self_attn.scaling)
        self.cross_kv = [(layer.encoder_attn.k_proj, layer.encoder_attn.v_proj) for layer in layers]
        n = inner.layer_norm
        self.final_norm = (n.normalized_shape, n.weight, n.bias, n.eps)
        self.int8 = _packed(decoder.lm_heads[0]) is not None
        self.packed, self.weights, self.reduce_range = [], [], True
        for layer in layers:
            a, c = layer.self_attn, layer.encoder_attn
            groups = [[a.q_proj, a.k_proj, a.v_proj], [a.out_proj], [c.q_proj], [c.out_proj], [layer.fc1], [layer.fc2]]
            if self.int8:
                self.packed += [_joined(g) if len(g) > 1 else g[0]._packed_params._packed_params for g in groups]
                self.reduce_range = not (a.q_proj.version is None or a.q_proj.version < 4)  # as their forward
            else:
                self.weights += [torch.cat([m.weight for m in g]) for g in groups]
        heads = list(decoder.lm_heads)
        self.head = _joined(heads) if self.int8 else torch.cat([h.weight for h in heads])
        self.layers = _scripted()

    def handles(self, kwargs: dict, cache) -> bool:
        return (cache is not None and not torch.is_grad_enabled() and kwargs.get("input_ids") is not None
                and all(kwargs.get(k) is None for k in ("labels", "inputs_embeds", "attention_mask"))
                and kwargs.get("encoder_hidden_states") is not None
                and not any(kwargs.get(k) for k in ("output_attentions", "output_hidden_states")))

    def forward(self, input_ids=None, cache=None, **kwargs):
        state = getattr(cache, "_lean_state", None) if cache is not None else None
        if state is None and cache is not None and getattr(cache, "_lean_refused", False) is False:
            if self.handles({"input_ids": input_ids, **kwargs}, cache) and _empty(cache):
                state = cache._lean_state = _State()
            else:
                cache._lean_refused = True
        if state is None:
            return self.original(input_ids=input_ids, cache=cache, **kwargs)
        from transformers.modeling_outputs import CausalLMOutputWithCrossAttentions

        logits = self.step(state, input_ids, kwargs["encoder_hidden_states"], kwargs.get("encoder_attention_mask"),
                           getattr(cache, "capacity", None))
        return CausalLMOutputWithCrossAttentions(logits=logits, cache=cache)

    def step(self, state: _State, input_ids, encoder_states, encoder_mask, capacity: int | None):
        """Logits (batch * codebooks, 1, vocab) of the last of `input_ids`' new positions."""
        if state.released:
            raise RuntimeError("musicgen: a decoder step after the window's last one (its keys and values are freed)")
        ids = input_ids.reshape(-1, self.codebooks, input_ids.shape[-1])
        batch, _, new = ids.shape
        start = state.length
        if state.kv is None or start + new > state.kv.shape[4]:
            self._grow(state, batch, max(capacity or 0, 2 * (start + new)), encoder_states.dtype, encoder_states.device)
        if not state.cross:
            self._cross(state, encoder_states, encoder_mask)
        table = self.table if self.table.device == ids.device else self.table.to(ids.device)
        x = F.embedding(ids + self.offsets.to(ids.device)[None, :, None], table).sum(dim=1)
        x = x + self.positions(ids, start).to(x.dtype)
        causal = None
        if new > 1:  # the prompt: each position sees the ones before it
            causal = torch.ones(new, start + new, dtype=torch.bool, device=x.device).tril(start)
        x = self.layers(x, state.kv, start, causal, state.cross, state.cross_mask, self.norms, self.eps, self.packed,
                        self.weights, self.reduce_range, self.heads, self.scaling)
        state.length = start + new
        # every new position through the heads, though generate samples from the last: int8 quantises a call's
        # activations with one scale for all its rows, so the prompt's last logits depend on the others
        h = F.layer_norm(x, *self.final_norm)
        logits = (torch.ops.quantized.linear_dynamic(h, self.head, self.reduce_range) if self.int8
                  else F.linear(h, self.head))
        # (batch, new, codebooks * vocab) -> (batch, codebooks, 1, vocab)
        logits = logits[:, -1:].reshape(batch, 1, self.codebooks, -1).transpose(1, 2)
        return logits.reshape(batch * self.codebooks, 1, -1)

    def _grow(self, state: _State, batch: int, capacity: int, dtype, device) -> None:
        kv = torch.empty((len(self.cross_kv), 2, batch, self.heads, capacity, self.head_dim), dtype=dtype,
                         device=device)
        if state.kv is not None:
            kv[..., : state.length, :] = state.kv[..., : state.length, :]
        state.kv = kv

    def _cross(self, state: _State, encoder_states, encoder_mask) -> None:
        """The cross-attention's keys and values for every layer, and its additive mask (None when every
        encoder position is attended; a fully masked row, guidance's unconditional half, attends uniformly,
        as in transformers)."""
        batch, length = encoder_states.shape[:2]
        split = (batch, length, self.heads, self.head_dim)
        state.cross = [t for k, v in self.cross_kv for t in (k(encoder_states).view(split).transpose(1, 2),
                                                               v(encoder_states).view(split).transpose(1, 2))]
        if encoder_mask is not None and not bool(encoder_mask.all()):
            mask = torch.zeros(encoder_mask.shape, dtype=encoder_states.dtype, device=encoder_states.device)
            mask = mask.masked_fill(encoder_mask == 0, torch.finfo(encoder_states.dtype).min)
            state.cross_mask = mask[:, None, None, :]


def _empty(cache) -> bool:
    """The cache of a generate call that has not stepped yet (the lean step starts only at the start)."""
    try:
        return cache.get_seq_length() == 0
    except (AttributeError, TypeError):
        return False
