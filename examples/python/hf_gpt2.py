"""Hugging Face transformers' GPT2LMHeadModel (torch), served over gpt2-spec's runner protocol.

The model is loaded from the checkpoint folder with from_pretrained (a local folder: no hub) and the
eager attention, in float64 (float32 with --float32). Each protocol method calls the HF module of
the same building block; attention's trace is read off the module with forward hooks (the c_attn
output split into heads, the c_proj input), and the scores are recomputed from the captured query
and key as eager_attention_forward computes them before the mask: matmul(q, kᵀ) * scaling.

    .venv/bin/python examples/python/hf_gpt2.py [--float32]

Needs torch and transformers (npm run fixtures:venv builds .venv with both).
Shapes: B batch, T new tokens, D n_embd, H n_head, Dh = D / H, V vocabulary size.
"""

import os
import sys

import numpy as np
import torch
import transformers
from transformers import DynamicCache, GPT2LMHeadModel

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'runners', 'python'))
import gpt2_spec_runner as protocol  # noqa: E402


def causal_mask(T, dtype):  # -> [1, 1, T, T]
    """What HF's eager path adds to the scores: 0 on and below the diagonal, the dtype's lowest value above."""
    upper = torch.ones(T, T, dtype=torch.bool).triu(1)  # [T, T]
    return torch.zeros(T, T, dtype=dtype).masked_fill(upper, torch.finfo(dtype).min)[None, None]  # [1, 1, T, T]


def split_heads(x, n_head):  # [B, T, D] -> [B, H, T, Dh], as GPT2Attention.forward does
    B, T, D = x.shape
    return x.view(B, T, n_head, D // n_head).transpose(1, 2)  # [B, H, T, Dh]


class HfGpt2(protocol.Runner):
    name = 'hf-gpt2'

    def __init__(self, dtype=torch.float64):
        self.dtype = dtype
        self.backend = f'transformers {transformers.__version__} torch {torch.__version__} eager {str(dtype).removeprefix("torch.")}'
        self.model = None

    def load(self, path, config, weights=None):
        self.model = GPT2LMHeadModel.from_pretrained(path, attn_implementation='eager', dtype=self.dtype, local_files_only=True).eval()
        self.config = config

    def dispose(self):
        self.model = None

    def _tensor(self, x, what='x'):
        protocol.check_hidden(x, self.config, what)
        return torch.from_numpy(np.asarray(x)).to(self.dtype)  # inputs come as float64

    def _block(self, layer):
        protocol.check_layer(layer, self.config)
        return self.model.transformer.h[layer]

    @torch.no_grad()
    def embed(self, ids, past_length):
        protocol.check_ids(ids, self.config, past_length)
        tr = self.model.transformer
        ids = torch.from_numpy(ids.astype(np.int64))  # [B, T]
        positions = torch.arange(past_length, past_length + ids.shape[1])[None]  # [1, T]
        return (tr.wte(ids) + tr.wpe(positions)).numpy()  # [B, T, D] + [1, T, D] -> [B, T, D]

    @torch.no_grad()
    def layer_norm(self, x, site):
        module = self.model.transformer.get_submodule(protocol.check_site(site, self.config))
        return module(self._tensor(x)).numpy()  # [B, T, D] -> [B, T, D]

    @torch.no_grad()
    def attention(self, x, layer, trace):
        attn = self._block(layer).attn
        x = self._tensor(x)  # [B, T, D]
        seen = {}
        hooks = [
            attn.c_attn.register_forward_hook(lambda _m, _a, out: seen.__setitem__('qkv', out)),
            attn.c_proj.register_forward_pre_hook(lambda _m, args: seen.__setitem__('context', args[0])),
        ]
        try:
            output, weights = attn(x, attention_mask=causal_mask(x.shape[1], self.dtype), output_attentions=True)  # [B, T, D]
        finally:
            for hook in hooks:
                hook.remove()
        if not trace:
            return output.numpy(), None
        q, k, v = (split_heads(part, attn.num_heads) for part in seen['qkv'].split(attn.split_size, dim=2))  # 3 x [B, H, T, Dh]
        scores = torch.matmul(q, k.transpose(-1, -2)) * attn.scaling  # [B, H, T, T], before the mask
        steps = {'query': q, 'key': k, 'value': v, 'scores': scores, 'weights': weights, 'context': seen['context']}
        return output.numpy(), {name: t.contiguous().numpy() for name, t in steps.items()}

    @torch.no_grad()
    def mlp(self, x, layer):
        return self._block(layer).mlp(self._tensor(x)).numpy()  # [B, T, D] -> [B, T, D]

    @torch.no_grad()
    def block(self, x, layer):
        x = self._tensor(x)  # [B, T, D]
        return self._block(layer)(x, attention_mask=causal_mask(x.shape[1], self.dtype)).numpy()  # [B, T, D]

    @torch.no_grad()
    def lm_head(self, x):
        return self.model.lm_head(self._tensor(x)).numpy()  # [B, T, D] -> [B, T, V]

    @torch.no_grad()
    def forward(self, ids, past):
        protocol.check_ids(ids, self.config)
        past_length = protocol.check_cache(past, self.config, ids.shape[0], ids.shape[1])
        cache = self._cache(past) if past_length else None
        out = self.model(torch.from_numpy(ids.astype(np.int64)), past_key_values=cache, use_cache=True)  # [B, T, V]
        layers = out.past_key_values.layers
        present = {'keys': [layer.keys.numpy() for layer in layers], 'values': [layer.values.numpy() for layer in layers]}
        return out.logits.numpy(), present

    def _cache(self, past):
        """The protocol's keys and values lists as HF's DynamicCache, one layer per pair."""
        cache = DynamicCache(config=self.model.config)
        for i, (k, v) in enumerate(zip(past['keys'], past['values'])):
            cache.update(torch.from_numpy(np.asarray(k)).to(self.dtype), torch.from_numpy(np.asarray(v)).to(self.dtype), i)  # [B, H, Tpast, Dh]
        return cache


def main(argv):
    protocol.serve(HfGpt2(torch.float32 if '--float32' in argv else torch.float64))


if __name__ == '__main__':
    main(sys.argv[1:])
