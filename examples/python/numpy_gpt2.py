"""GPT-2 in numpy, served over gpt2-spec's runner protocol.

The forward pass follows picoGPT's gpt2.py (one small function per piece of the math) and computes
what Hugging Face's GPT2LMHeadModel computes (modeling_gpt2.py): pre-LayerNorm blocks, the tanh
GELU (gelu_new), causal multi-head attention scaled by 1/sqrt(Dh), and an LM head tied to wte.
It computes in float64 (float32 with --float32) and runs from a clone without installing anything:

    gpt2-spec check --runner 'cmd:python3 examples/python/numpy_gpt2.py'
    gpt2-spec check --tokenizer 'cmd:python3 examples/python/numpy_gpt2.py'   # encode and decode

The tokenizer reads its vocabulary and merges from fixtures/transformers-js/gpt2-tokenizer/tokenizer.json.

GPT2_NUMPY_BUG=<name> plants one one-line bug (see BUGS), so a spec run can show that the bug fails
at the row of the component it breaks and nowhere before it.

Shapes: B batch, T new tokens, S = Tpast + T attended positions, D n_embd, H n_head, Dh = D / H,
V vocabulary size.
"""

import functools
import json
import math
import os
import re
import sys
import unicodedata

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'runners', 'python'))
import gpt2_spec_runner as protocol  # noqa: E402

BUGS = {
    'no-scale': 'attention scores are not scaled by 1/sqrt(Dh)',
    'no-mask': 'attention has no causal mask',
    'gelu-erf': 'the MLP uses the exact erf GELU instead of gelu_new (tanh)',
    'ln-unbiased': "LayerNorm divides by the unbiased variance (N - 1), not the biased one",
    'position-restart': 'embed ignores pastLength: positions restart at 0 after a cache',
}
BUG = os.environ.get('GPT2_NUMPY_BUG', '')
if BUG and BUG not in BUGS:
    sys.exit(f"GPT2_NUMPY_BUG={BUG!r}: expected one of {', '.join(BUGS)}")

_erf = np.vectorize(math.erf, otypes=[np.float64])


def gelu(x):  # [..., N] -> [..., N]
    if BUG == 'gelu-erf':
        return 0.5 * x * (1 + _erf(x / math.sqrt(2)).astype(x.dtype))  # [..., N]
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))  # [..., N]


def softmax(x):  # [..., S] -> [..., S]
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))  # [..., S], the row max subtracted so exp never overflows
    return e / np.sum(e, axis=-1, keepdims=True)  # [..., S]


def layer_norm(x, g, b, eps):  # [..., D] -> [..., D]
    mean = np.mean(x, axis=-1, keepdims=True)  # [..., 1]
    variance = np.var(x, axis=-1, keepdims=True, ddof=1 if BUG == 'ln-unbiased' else 0)  # [..., 1], biased as torch's LayerNorm
    return g * (x - mean) / np.sqrt(variance + eps) + b  # [..., D]


def linear(x, w, b):  # [..., m] @ [m, n] + [n] -> [..., n] (HF's Conv1D layout)
    return x @ w + b  # [..., n]


def ffn(x, c_fc, c_proj):  # [B, T, D] -> [B, T, D]
    return linear(gelu(linear(x, **c_fc)), **c_proj)  # [B, T, D] -> [B, T, 4D] -> [B, T, D]


def causal_mask(T, S):  # -> [T, S] bool: query t (position S - T + t) sees keys 0..S - T + t
    return np.tril(np.ones((T, S), dtype=bool), k=S - T)  # [T, S]


def attention(q, k, v):  # [B, H, T, Dh], [B, H, S, Dh], [B, H, S, Dh] -> [B, H, T, Dh], trace
    scale = 1.0 if BUG == 'no-scale' else 1 / math.sqrt(q.shape[-1])  # a Python float keeps float32 float32
    scores = q @ k.swapaxes(-1, -2) * scale  # [B, H, T, Dh] @ [B, H, Dh, S] -> [B, H, T, S], before the mask
    keep = np.ones(scores.shape[-2:], dtype=bool) if BUG == 'no-mask' else causal_mask(*scores.shape[-2:])  # [T, S]
    weights = softmax(np.where(keep, scores, -np.inf))  # [B, H, T, S], exactly 0 where masked
    return weights @ v, {'scores': scores, 'weights': weights}  # [B, H, T, S] @ [B, H, S, Dh] -> [B, H, T, Dh]


def split_heads(x, n_head):  # [B, T, D] -> [B, H, T, Dh]
    B, T, D = x.shape
    return x.reshape(B, T, n_head, D // n_head).transpose(0, 2, 1, 3)  # [B, T, H, Dh] -> [B, H, T, Dh]


def merge_heads(x):  # [B, H, T, Dh] -> [B, T, D]
    B, H, T, Dh = x.shape
    return x.transpose(0, 2, 1, 3).reshape(B, T, H * Dh)  # [B, T, H, Dh] -> [B, T, D]


def mha(x, c_attn, c_proj, n_head, past=None):  # [B, T, D] -> [B, T, D], trace, (key, value) [B, H, S, Dh]
    qkv = linear(x, **c_attn)  # [B, T, D] -> [B, T, 3D]
    q, k, v = (split_heads(part, n_head) for part in np.split(qkv, 3, axis=-1))  # 3 x [B, H, T, Dh]
    if past is not None:
        k = np.concatenate([past[0], k], axis=2)  # [B, H, Tpast, Dh] + [B, H, T, Dh] -> [B, H, S, Dh]
        v = np.concatenate([past[1], v], axis=2)  # [B, H, S, Dh]
    heads, trace = attention(q, k, v)  # [B, H, T, Dh]
    context = merge_heads(heads)  # [B, H, T, Dh] -> [B, T, D]
    trace.update(query=q, key=k, value=v, context=context)
    return linear(context, **c_proj), trace, (k, v)  # [B, T, D] -> [B, T, D]


def block(x, mlp, attn, ln_1, ln_2, n_head, eps, past=None):  # [B, T, D] -> [B, T, D], (key, value)
    a, _, present = mha(layer_norm(x, **ln_1, eps=eps), **attn, n_head=n_head, past=past)  # [B, T, D]
    x = x + a  # [B, T, D], the residual after attention
    return x + ffn(layer_norm(x, **ln_2, eps=eps), **mlp), present  # [B, T, D]


def embed(ids, wte, wpe, past_length=0):  # [B, T] -> [B, T, D]
    start = 0 if BUG == 'position-restart' else past_length
    return wte[ids] + wpe[start : start + ids.shape[1]]  # [B, T, D] + [T, D] -> [B, T, D]


def lm_head(x, wte):  # [B, T, D] -> [B, T, V], tied to the token embedding
    return x @ wte.T  # [B, T, D] @ [D, V] -> [B, T, V]


def gpt2(ids, wte, wpe, blocks, ln_f, n_head, eps, past=None):  # [B, T] -> [B, T, V], presents
    past_length = 0 if past is None else past[0][0].shape[2]
    x = embed(ids, wte, wpe, past_length)  # [B, T] -> [B, T, D]
    presents = []
    for i, params in enumerate(blocks):
        x, present = block(x, **params, n_head=n_head, eps=eps, past=None if past is None else past[i])  # [B, T, D]
        presents.append(present)
    return lm_head(layer_norm(x, **ln_f, eps=eps), wte), presents  # [B, T, D] -> [B, T, V]


def nest(weights, n_layer):
    """HF's flat names ('h.0.attn.c_attn.weight') as picoGPT's nested params ({'w': ..., 'b': ...})."""

    def pair(prefix, w='w', b='b'):
        return {w: weights[f'{prefix}.weight'], b: weights[f'{prefix}.bias']}

    def layer(i):
        p = f'h.{i}'
        return {
            'attn': {'c_attn': pair(f'{p}.attn.c_attn'), 'c_proj': pair(f'{p}.attn.c_proj')},
            'mlp': {'c_fc': pair(f'{p}.mlp.c_fc'), 'c_proj': pair(f'{p}.mlp.c_proj')},
            'ln_1': pair(f'{p}.ln_1', 'g', 'b'),
            'ln_2': pair(f'{p}.ln_2', 'g', 'b'),
        }

    return {
        'wte': weights['wte.weight'],
        'wpe': weights['wpe.weight'],
        'blocks': [layer(i) for i in range(n_layer)],
        'ln_f': pair('ln_f', 'g', 'b'),
    }


# ---- the tokenizer: GPT-2's byte-level BPE, as OpenAI's encoder.py does it -------------------------

TOKENIZER_JSON = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'fixtures', 'transformers-js', 'gpt2-tokenizer', 'tokenizer.json')
UNICODE_CLASSES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'fixtures', 'tokenizer', 'unicode-classes.json')
END_OF_TEXT = '<|endoftext|>'
# Unicode's White_Space property, which GPT-2's \s means (Python's str \s also takes U+001C..U+001F)
WHITE_SPACE = '\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000'


def bytes_to_unicode():
    """Each byte as a printable character: printable Latin-1 bytes as themselves, the others shifted past 255."""
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('\xa1'), ord('\xac') + 1)) + list(range(ord('\xae'), ord('\xff') + 1))
    cs = bs[:]
    shifted = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + shifted)
            shifted += 1
    return dict(zip(bs, map(chr, cs)))


def char_class(ranges):
    """[[first, last], ...] code point ranges as the inside of a regex character class."""
    return ''.join(re.escape(chr(a)) + ('-' + re.escape(chr(b)) if b > a else '') for a, b in ranges)


def category_ranges(prefix):
    """Code point ranges whose general category starts with prefix (L: letters, N: numbers), from Python's tables."""
    ranges = []
    for cp in range(0x110000):
        if unicodedata.category(chr(cp)).startswith(prefix):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1][1] = cp
            else:
                ranges.append([cp, cp])
    return ranges


def unicode_classes():
    """Letters, numbers and White_Space. The fixtures hold the tables GPT-2's references use (a newer Unicode
    than this Python's unicodedata may know); without them, Python's own tables."""
    if os.path.exists(UNICODE_CLASSES):
        with open(UNICODE_CLASSES, encoding='utf-8') as f:
            c = json.load(f)
        return char_class(c['letter']), char_class(c['number']), char_class(c['whitespace'])
    return char_class(category_ranges('L')), char_class(category_ranges('N')), WHITE_SPACE


def pretokenizer():
    """GPT-2's pattern 's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+ in Python's re."""
    L, N, S = unicode_classes()
    return re.compile(f"'s|'t|'re|'ve|'m|'ll|'d| ?[{L}]+| ?[{N}]+| ?[^{S}{L}{N}]+|[{S}]+(?![^{S}])|[{S}]+")


class Bpe:
    def __init__(self, path=TOKENIZER_JSON):
        with open(path, encoding='utf-8') as f:
            model = json.load(f)['model']
        self.encoder = model['vocab']  # byte-level token text -> id
        self.decoder = {i: t for t, i in self.encoder.items()}
        self.ranks = {tuple(m.split(' ') if isinstance(m, str) else m): r for r, m in enumerate(model['merges'])}
        self.byte_encoder = bytes_to_unicode()
        self.byte_decoder = {c: b for b, c in self.byte_encoder.items()}
        self.pattern = pretokenizer()
        self.bpe = functools.lru_cache(maxsize=65536)(self._bpe)

    def _bpe(self, word):
        """Merges the lowest-ranked adjacent pair until none is in the merge list."""
        parts = list(word)
        while len(parts) > 1:
            rank, at = min((self.ranks.get(pair, math.inf), i) for i, pair in enumerate(zip(parts, parts[1:])))
            if rank == math.inf:
                break
            first, second = parts[at], parts[at + 1]
            merged, i = [], 0
            while i < len(parts):
                if i + 1 < len(parts) and parts[i] == first and parts[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        return tuple(parts)

    def encode_plain(self, text):
        ids = []
        for piece in self.pattern.findall(text):
            word = ''.join(self.byte_encoder[b] for b in piece.encode('utf-8'))
            ids.extend(self.encoder[t] for t in self.bpe(word))
        return ids

    def encode(self, text, allowed_special):
        if not isinstance(text, str):
            raise protocol.TokenizerError(f'encode: expected a string, got {type(text).__name__}')
        if allowed_special not in ('none', 'all'):
            raise protocol.TokenizerError(f"allowedSpecial must be 'none' or 'all', got {allowed_special!r}")
        text = re.sub('[\ud800-\udfff]', '\ufffd', text)  # a lone surrogate has no UTF-8 form: U+FFFD, as TextEncoder writes
        if allowed_special == 'none':
            return self.encode_plain(text)
        ids = []
        for i, part in enumerate(text.split(END_OF_TEXT)):
            if i:
                ids.append(self.encoder[END_OF_TEXT])
            ids.extend(self.encode_plain(part))
        return ids

    def decode(self, ids):
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) and i in self.decoder for i in ids):
            raise protocol.TokenizerError(f'decode: expected a list of ids in 0..{len(self.decoder) - 1}')
        chars = ''.join(self.decoder[i] for i in ids)  # <|endoftext|> is printable ASCII: its own byte characters
        return bytes(self.byte_decoder[c] for c in chars).decode('utf-8', errors='replace')


class NumpyGpt2(protocol.Runner):
    name = 'numpy-gpt2'

    def __init__(self, dtype=np.float64, wants_weights=False):
        self.dtype = np.dtype(dtype)
        self.wants_weights = wants_weights
        self.backend = f'numpy {np.__version__} {self.dtype.name}' + (f' bug:{BUG}' if BUG else '')
        self.params = None
        self.tokenizer = None

    def load(self, path, config, weights=None):
        if weights is None:
            config, weights = protocol.load_checkpoint(path)
        self.config = config
        self.eps = float(config['layer_norm_epsilon'])
        if config.get('activation_function', 'gelu_new') != 'gelu_new':
            raise protocol.ShapeError(f"activation_function {config['activation_function']!r}: only gelu_new is implemented")
        self.params = nest({k: np.asarray(v, dtype=self.dtype) for k, v in weights.items()}, config['n_layer'])

    def dispose(self):
        self.params = None

    def _hidden(self, x, what='x'):
        protocol.check_hidden(x, self.config, what)
        return np.asarray(x, dtype=self.dtype)  # inputs come as float64; --float32 computes in float32

    def _layer(self, layer):
        protocol.check_layer(layer, self.config)
        return self.params['blocks'][layer]

    def embed(self, ids, past_length):
        protocol.check_ids(ids, self.config, past_length)
        return embed(ids, self.params['wte'], self.params['wpe'], past_length)  # [B, T] -> [B, T, D]

    def layer_norm(self, x, site):
        prefix = protocol.check_site(site, self.config)
        if prefix == 'ln_f':
            ln = self.params['ln_f']
        else:
            _, i, which = prefix.split('.')
            ln = self.params['blocks'][int(i)][which]
        return layer_norm(self._hidden(x), **ln, eps=self.eps)  # [B, T, D] -> [B, T, D]

    def attention(self, x, layer, trace):
        p = self._layer(layer)['attn']
        output, steps, _ = mha(self._hidden(x), **p, n_head=self.config['n_head'])  # [B, T, D] -> [B, T, D]
        return output, steps if trace else None

    def mlp(self, x, layer):
        return ffn(self._hidden(x), **self._layer(layer)['mlp'])  # [B, T, D] -> [B, T, D]

    def block(self, x, layer):
        out, _ = block(self._hidden(x), **self._layer(layer), n_head=self.config['n_head'], eps=self.eps)  # [B, T, D]
        return out

    def lm_head(self, x):
        return lm_head(self._hidden(x), self.params['wte'])  # [B, T, D] -> [B, T, V]

    def forward(self, ids, past):
        protocol.check_ids(ids, self.config)
        protocol.check_cache(past, self.config, ids.shape[0], ids.shape[1])
        layers = None if past is None else [(np.asarray(k, self.dtype), np.asarray(v, self.dtype)) for k, v in zip(past['keys'], past['values'])]
        p = self.params
        logits, presents = gpt2(ids, p['wte'], p['wpe'], p['blocks'], p['ln_f'], self.config['n_head'], self.eps, layers)  # [B, T, V]
        return logits, {'keys': [k for k, _ in presents], 'values': [v for _, v in presents]}

    def _bpe(self):
        if self.tokenizer is None:  # the tokenizer needs no model, so it is read on first use
            self.tokenizer = Bpe()
        return self.tokenizer

    def encode(self, text, allowed_special):
        return self._bpe().encode(text, allowed_special)

    def decode(self, ids):
        return self._bpe().decode(ids)


def main(argv):
    dtype = np.float32 if '--float32' in argv else np.float64
    protocol.serve(NumpyGpt2(dtype, wants_weights='--harness-weights' in argv))


if __name__ == '__main__':
    main(sys.argv[1:])
