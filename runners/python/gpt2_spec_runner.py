"""The Python client of gpt2-spec's runner protocol (docs/protocol.md, version 1).

One module, numpy only: subclass `Runner`, override the methods your implementation has, and call
`serve(MyRunner())`. The harness starts the script, sends requests on stdin and reads the answers
on stdout; `serve` moves everything else that would reach stdout (print, C extensions) to stderr.

    from gpt2_spec_runner import Runner, serve, load_checkpoint

    class MyRunner(Runner):
        name, backend = 'my-gpt2', 'numpy float64'
        def load(self, path, config, weights=None): ...
        def embed(self, ids, past_length): ...   # int32 [B,T] -> [B,T,D]

    serve(MyRunner())

Shapes use the letters of runners/contract.ts: B batch, T new tokens, Tpast cached tokens,
D n_embd, H n_head, Dh = D / H, V vocabulary size.
"""

import json
import os
import struct
import sys

import numpy as np

PROTOCOL = 1
MAGIC = b'G2SP'
PREFIX = struct.Struct('<4sIQ')  # magic, header length H, payload length P
MAX_HEADER = 64 << 20  # a header is small JSON; more than this is a broken frame, not a request
MAX_PAYLOAD = 1 << 36  # 64 GiB: a bound that only a corrupt length reaches
ALIGN = 8

DTYPES = {'float32': np.dtype('<f4'), 'float64': np.dtype('<f8'), 'int32': np.dtype('<i4')}


# ---------------------------------------------------------------------------------------------
# Errors: the names the harness knows (runners/errors.ts). Any other exception is answered with
# its own class name.


class Gpt2SpecError(Exception):
    """Base of the protocol's named errors; the class name is the error's name on the wire."""


class NotExposedError(Gpt2SpecError):
    """A method the runner does not implement, or one call of it that it cannot serve."""


class TokenIdError(Gpt2SpecError):
    """A token id outside 0..V-1."""


class SequenceTooLongError(Gpt2SpecError):
    """pastLength + T > n_positions."""


class CacheShapeError(Gpt2SpecError):
    """A KV cache whose layer count or shapes do not fit the model and the input."""


class ShapeError(Gpt2SpecError):
    """A tensor whose shape or dtype is not the one the call needs."""


class LayerIndexError(Gpt2SpecError):
    """A layer index or LayerNorm site the model does not have."""


class RunnerStateError(Gpt2SpecError):
    """A model method called before load, or after dispose."""


class TokenizerError(Gpt2SpecError):
    """A tokenizer given bad input, e.g. an id outside 0..50256 to decode."""


class ProtocolError(Gpt2SpecError):
    """A request the client cannot read: bad JSON, a malformed tensor, an unknown method."""


class FrameError(Exception):
    """A frame that cannot be read at all: after it the stream is out of step, so serve exits 2."""


# ---------------------------------------------------------------------------------------------
# Framing: magic, u32 header length, u64 payload length, JSON header, payload.


def _read_exactly(stream, n):
    """n bytes into a fresh bytearray (writable, so tensors viewed in it are writable too)."""
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = stream.readinto(view[got:])
        if not k:
            raise FrameError(f'stream ended after {got} of {n} bytes')
        got += k
    return buf


def read_frame(stream):
    """One frame from a binary stream: (header dict, payload bytearray), or None at a clean EOF."""
    first = stream.read(1)
    if not first:
        return None
    prefix = bytes(first) + bytes(_read_exactly(stream, PREFIX.size - 1))
    magic, header_length, payload_length = PREFIX.unpack(prefix)
    if magic != MAGIC:
        raise FrameError(f'bad magic {magic!r}: expected {MAGIC!r}')
    if header_length > MAX_HEADER or payload_length > MAX_PAYLOAD:
        raise FrameError(f'implausible lengths: header {header_length}, payload {payload_length}')
    header_bytes = _read_exactly(stream, header_length)
    payload = _read_exactly(stream, payload_length)
    try:
        header = json.loads(header_bytes.decode('utf-8'))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        header = ProtocolError(f'header is not UTF-8 JSON: {e}')
    return header, payload


class PayloadWriter:
    """Collects the tensors of one message at 8-byte aligned offsets, zero padding between them."""

    def __init__(self):
        self.parts = []
        self.length = 0

    def add(self, array):
        array = _wire_array(array)
        pad = -self.length % ALIGN
        if pad:
            self.parts.append(b'\0' * pad)
            self.length += pad
        spec = {'dtype': array.dtype.name, 'shape': list(array.shape), 'offset': self.length}
        if array.nbytes:
            self.parts.append(memoryview(array).cast('B'))
        self.length += array.nbytes
        return spec


def _wire_array(array):
    """A C-ordered little-endian array in one of the protocol's dtypes."""
    array = np.asarray(array)
    if array.dtype.kind == 'f':
        dtype = DTYPES['float64'] if array.dtype.itemsize == 8 else DTYPES['float32']
    elif array.dtype.kind in 'iub':
        if array.size and (array.min() < -(1 << 31) or array.max() >= (1 << 31)):
            raise ShapeError(f'integer tensor does not fit in int32 (range {array.min()}..{array.max()})')
        dtype = DTYPES['int32']
    else:
        raise ShapeError(f'cannot send a tensor of dtype {array.dtype}')
    return np.ascontiguousarray(array, dtype=dtype)


def encode_tensors(value, writer):
    """A JSON-ready copy of value with every numpy array replaced by its tensor entry."""
    if isinstance(value, np.ndarray):
        return writer.add(value)
    if isinstance(value, dict):
        return {k: encode_tensors(v, writer) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode_tensors(v, writer) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_frame(stream, header, payload_parts=(), payload_length=0):
    """header: a JSON-ready dict, or its JSON text already (ASCII: a lone surrogate travels as an escape)."""
    data = (header if isinstance(header, str) else json.dumps(header, allow_nan=False)).encode('utf-8')
    data += b' ' * (-len(data) % ALIGN)  # JSON allows trailing spaces: the payload then starts 8-byte aligned too
    stream.write(PREFIX.pack(MAGIC, len(data), payload_length))
    stream.write(data)
    for part in payload_parts:
        stream.write(part)
    stream.flush()


def write_message(stream, header):
    """A header whose values may hold numpy arrays: they travel in the payload."""
    writer = PayloadWriter()
    encoded = encode_tensors(header, writer)
    write_frame(stream, encoded, writer.parts, writer.length)


def is_tensor_entry(value):
    return isinstance(value, dict) and set(value) == {'dtype', 'shape', 'offset'}


def decode_tensor(entry, payload):
    """A numpy view of one tensor entry in the payload (no copy), after checking the entry."""
    dtype = DTYPES.get(entry['dtype']) if isinstance(entry['dtype'], str) else None
    shape, offset = entry['shape'], entry['offset']
    if dtype is None:
        raise ProtocolError(f"tensor dtype {entry['dtype']!r}: expected one of {', '.join(DTYPES)}")
    if not isinstance(shape, list) or not all(_is_count(n) for n in shape):
        raise ProtocolError(f'tensor shape {shape!r}: expected a list of whole numbers >= 0')
    if not _is_count(offset) or offset % ALIGN:
        raise ProtocolError(f'tensor offset {offset!r}: expected a whole number, a multiple of {ALIGN}')
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if offset + count * dtype.itemsize > len(payload):
        raise ProtocolError(f'tensor at {offset} of {count * dtype.itemsize} bytes runs past the payload ({len(payload)} bytes)')
    return np.frombuffer(payload, dtype=dtype, count=count, offset=offset).reshape(shape)


def _is_count(n):
    return isinstance(n, int) and not isinstance(n, bool) and n >= 0


def decode_tensors(value, payload):
    """value with every tensor entry replaced by a numpy view of its bytes."""
    if is_tensor_entry(value):
        return decode_tensor(value, payload)
    if isinstance(value, dict):
        return {k: decode_tensors(v, payload) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_tensors(v, payload) for v in value]
    return value


# ---------------------------------------------------------------------------------------------
# The runner: one method per protocol method. A subclass overrides what it implements; `exposes`
# lists exactly those.


class Runner:
    name = 'python'
    backend = 'python'
    wants_weights = False  # True: hello says "weights": true and load receives the tensors

    def load(self, path, config, weights=None):
        """path: the checkpoint folder; config: its config.json; weights: {name: array} or None."""

    def embed(self, ids, past_length):
        """ids int32 [B,T] -> [B,T,D]: wte[ids] + wpe[past_length + t]."""
        raise NotExposedError('embed')

    def layer_norm(self, x, site):
        """x [B,T,D], site h.N.ln_1, h.N.ln_2 or ln_f -> [B,T,D]."""
        raise NotExposedError('layerNorm')

    def attention(self, x, layer, trace):
        """x [B,T,D] (the ln_1 output) -> (output [B,T,D], trace dict or None)."""
        raise NotExposedError('attention')

    def mlp(self, x, layer):
        """x [B,T,D] (the ln_2 output) -> [B,T,D]."""
        raise NotExposedError('mlp')

    def block(self, x, layer):
        """x [B,T,D] (the residual stream) -> [B,T,D]."""
        raise NotExposedError('block')

    def lm_head(self, x):
        """x [B,T,D] (the ln_f output) -> logits [B,T,V]."""
        raise NotExposedError('lmHead')

    def forward(self, ids, past):
        """ids int32 [B,T], past {'keys': [...], 'values': [...]} or None -> (logits, present)."""
        raise NotExposedError('forward')

    def encode(self, text, allowed_special):
        """text, allowed_special 'none' or 'all' -> a list of ids."""
        raise NotExposedError('encode')

    def decode(self, ids):
        """a list of ids -> text."""
        raise NotExposedError('decode')

    def dispose(self):
        """Releases the model; a load may follow."""


# protocol name -> (python method, needs a loaded model)
METHODS = {
    'embed': ('embed', True),
    'layerNorm': ('layer_norm', True),
    'attention': ('attention', True),
    'mlp': ('mlp', True),
    'block': ('block', True),
    'lmHead': ('lm_head', True),
    'forward': ('forward', True),
    'encode': ('encode', False),
    'decode': ('decode', False),
}


def exposed_methods(runner):
    """The protocol methods whose Python method the runner's class overrides."""
    return [wire for wire, (py, _) in METHODS.items() if getattr(type(runner), py) is not getattr(Runner, py)]


def _param(params, key, default=None, required=True):
    if key in params:
        return params[key]
    if required:
        raise ProtocolError(f"missing parameter '{key}'")
    return default


def _call(runner, wire, params):
    """Runs one model or tokenizer method and shapes its answer as the protocol's result."""
    if wire == 'embed':
        return {'output': runner.embed(_param(params, 'ids'), _param(params, 'pastLength', 0, False))}
    if wire == 'layerNorm':
        return {'output': runner.layer_norm(_param(params, 'x'), _param(params, 'site'))}
    if wire == 'attention':
        output, trace = runner.attention(_param(params, 'x'), _param(params, 'layer'), bool(_param(params, 'trace', False, False)))
        return {'output': output, 'trace': trace} if trace is not None else {'output': output}
    if wire == 'mlp':
        return {'output': runner.mlp(_param(params, 'x'), _param(params, 'layer'))}
    if wire == 'block':
        return {'output': runner.block(_param(params, 'x'), _param(params, 'layer'))}
    if wire == 'lmHead':
        return {'output': runner.lm_head(_param(params, 'x'))}
    if wire == 'forward':
        logits, present = runner.forward(_param(params, 'ids'), _param(params, 'past', None, False))
        return {'logits': logits, 'present': {'keys': list(present['keys']), 'values': list(present['values'])}}
    if wire == 'encode':
        ids = runner.encode(_param(params, 'text'), _param(params, 'allowedSpecial', 'none', False))
        return {'ids': [int(i) for i in ids]}
    if wire == 'decode':
        return {'text': runner.decode(_param(params, 'ids'))}
    raise ProtocolError(f'unknown method {wire!r}')


class _Session:
    """The state serve keeps between requests: whether a model is loaded."""

    def __init__(self, runner):
        self.runner = runner
        self.loaded = False
        self.exposes = exposed_methods(runner)

    def answer(self, method, params):
        runner = self.runner
        if method == 'hello':
            result = {'protocol': PROTOCOL, 'name': str(runner.name), 'backend': str(runner.backend), 'exposes': self.exposes}
            if runner.wants_weights:
                result['weights'] = True
            return result
        if method == 'load':
            weights = params.get('weights') if runner.wants_weights else None
            self.loaded = False  # a failed load leaves no model behind
            runner.load(_param(params, 'path'), _param(params, 'config', {}, False), weights)
            self.loaded = True
            return {'backend': str(runner.backend)}
        if method == 'dispose':
            runner.dispose()
            self.loaded = False
            return {}
        if method in METHODS:
            if method not in self.exposes:
                raise NotExposedError(f'{runner.name} does not expose {method}')
            if METHODS[method][1] and not self.loaded:
                raise RunnerStateError(f'{method} called before load')
            return _call(runner, method, params)
        # a method this client does not know (a later protocol's, say) reads as not exposed
        raise NotExposedError(f'unknown method {method!r}')


def _error(e):
    return {'name': type(e).__name__, 'message': str(e) or type(e).__name__}


def _handle(session, header, payload):
    """The answer header for one request frame (tensors still as numpy arrays), and whether to stop."""
    if isinstance(header, Exception):
        return {'id': None, 'error': _error(header)}, False
    request_id = header.get('id') if isinstance(header, dict) else None
    try:
        if not isinstance(header, dict) or not isinstance(header.get('method'), str):
            raise ProtocolError('a request is a JSON object with a string "method"')
        method = header['method']
        if method == 'shutdown':
            return {'id': request_id, 'result': {}}, True
        params = header.get('params', {})
        if not isinstance(params, dict):
            raise ProtocolError('params: expected a JSON object')
        # config is plain JSON: only the rest may hold tensors
        params = {k: (v if k == 'config' else decode_tensors(v, payload)) for k, v in params.items()}
        return {'id': request_id, 'result': session.answer(method, params)}, False
    except Exception as e:  # an error in one call is that call's answer, never the end of the loop
        return {'id': request_id, 'error': _error(e)}, False


def _protocol_streams():
    """(stdin, stdout) for frames; fd 1 now points at stderr, so stray prints cannot corrupt frames."""
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), 'wb')
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return sys.stdin.buffer, out


def _exit_now(out):
    """Ends the process right after the shutdown answer. The harness waits about a second for the exit,
    and an interpreter with torch loaded can take longer to tear down; so at-exit handlers do not run
    here (release resources in dispose, which comes first)."""
    out.close()
    sys.stderr.flush()
    os._exit(0)


def serve(runner):
    """Answers requests until stdin ends (exit 0) or shutdown (exit 0 at once); a broken frame exits 2."""
    stdin, out = _protocol_streams()
    session = _Session(runner)
    while True:
        try:
            frame = read_frame(stdin)
        except FrameError as e:
            print(f'gpt2_spec_runner: broken frame: {e}', file=sys.stderr)
            sys.exit(2)
        if frame is None:
            sys.exit(0)
        answer, stop = _handle(session, *frame)
        try:
            writer = PayloadWriter()
            header = encode_tensors(answer, writer)
            data = json.dumps(header, allow_nan=False)
        except Exception as e:  # a result that cannot be sent (a bad dtype, a NaN in JSON) is that call's error
            writer, data = PayloadWriter(), json.dumps({'id': answer.get('id'), 'error': _error(e)})
        try:
            write_frame(out, data, writer.parts, writer.length)
        except OSError:  # the harness is gone
            sys.exit(0)
        if stop:
            _exit_now(out)


# ---------------------------------------------------------------------------------------------
# Checkpoints: config.json and model.safetensors, read strictly with numpy.

SAFETENSORS_DTYPES = {
    'F64': np.dtype('<f8'),
    'F32': np.dtype('<f4'),
    'F16': np.dtype('<f2'),
    'BF16': np.dtype('<u2'),
    'I64': np.dtype('<i8'),
    'I32': np.dtype('<i4'),
}


class SafetensorsFormatError(Exception):
    """A file that is not a valid safetensors file."""


def read_safetensors(file):
    """{name: array} from a safetensors file: F16 and BF16 widened to float32, the rest as stored."""
    with open(file, 'rb') as f:
        data = f.read()
    fail = lambda why: SafetensorsFormatError(f'{file}: {why}')  # noqa: E731
    if len(data) < 8:
        raise fail('shorter than its 8-byte header length')
    (n,) = struct.unpack_from('<Q', data)
    if n > len(data) - 8:
        raise fail(f'header length {n} runs past the end of the file')
    try:
        header = json.loads(data[8 : 8 + n].decode('utf-8'))
    except (UnicodeDecodeError, ValueError) as e:
        raise fail(f'header is not UTF-8 JSON ({e})') from None
    if not isinstance(header, dict):
        raise fail('header is not a JSON object')
    body = memoryview(data)[8 + n :]
    spans, tensors = [], {}
    for name, entry in header.items():
        if name == '__metadata__':
            continue
        array, span = _safetensors_entry(name, entry, body, fail)
        spans.append(span)
        tensors[name] = array
    _check_tiling(sorted(spans), len(body), fail)
    return tensors


def _safetensors_entry(name, entry, body, fail):
    if not isinstance(entry, dict) or set(entry) != {'dtype', 'shape', 'data_offsets'}:
        raise fail(f"'{name}': expected exactly dtype, shape and data_offsets")
    dtype = SAFETENSORS_DTYPES.get(entry['dtype'])
    if dtype is None:
        raise fail(f"'{name}': unsupported dtype {entry['dtype']!r}")
    shape, offsets = entry['shape'], entry['data_offsets']
    if not isinstance(shape, list) or not all(_is_count(d) for d in shape):
        raise fail(f"'{name}': bad shape {shape!r}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_count(o) for o in offsets) and offsets[0] <= offsets[1] <= len(body)):
        raise fail(f"'{name}': bad data_offsets {offsets!r}")
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if offsets[1] - offsets[0] != count * dtype.itemsize:
        raise fail(f"'{name}': {offsets[1] - offsets[0]} bytes for {entry['dtype']} {shape}")
    raw = np.frombuffer(body, dtype=dtype, count=count, offset=offsets[0]).reshape(shape)
    return _widen(raw, entry['dtype']), (offsets[0], offsets[1], name)


def _widen(raw, dtype):
    if dtype == 'F16':
        return raw.astype(np.float32)
    if dtype == 'BF16':
        return (raw.astype(np.uint32) << 16).view(np.float32)  # bf16 is the top half of a float32
    return raw


def _check_tiling(spans, length, fail):
    """The tensors' byte ranges must cover the data exactly once, as the format requires."""
    end = 0
    for start, stop, name in spans:
        if start != end:
            raise fail(f"'{name}' starts at {start}, expected {end} (a gap or an overlap)")
        end = stop
    if end != length:
        raise fail(f'the tensors cover {end} of {length} data bytes')


def load_checkpoint(path):
    """(config dict, {name: array}) of a checkpoint folder, names without `transformer.`, lm_head.weight left out (tied to wte)."""
    with open(os.path.join(path, 'config.json'), encoding='utf-8') as f:
        config = json.load(f)
    weights = {}
    for name, array in read_safetensors(os.path.join(path, 'model.safetensors')).items():
        if name == 'lm_head.weight':
            continue
        weights[name.removeprefix('transformer.')] = array
    return config, weights


# ---------------------------------------------------------------------------------------------
# Validation a runner calls before computing, so bad input gets the protocol's named error.
# config is the checkpoint's config.json (HF names: vocab_size, n_positions, n_embd, n_head, n_layer).


def check_ids(ids, config, past_length=0):
    """ids: int32 [B,T] with B, T >= 1, every id in 0..V-1, and past_length + T <= n_positions."""
    if not isinstance(ids, np.ndarray) or ids.dtype != np.int32 or ids.ndim != 2:
        raise ShapeError(f'ids: expected an int32 tensor of shape [B,T], got {_describe(ids)}')
    B, T = ids.shape
    if B < 1 or T < 1:
        raise ShapeError(f'ids: expected at least one sequence of at least one token, got {list(ids.shape)}')
    if not _is_count(past_length):
        raise ShapeError(f'pastLength must be a whole number >= 0, got {past_length!r}')
    if past_length + T > config['n_positions']:
        cached = f'{past_length} cached + ' if past_length else ''
        raise SequenceTooLongError(f"sequence too long: {cached}{T} tokens > n_positions {config['n_positions']}")
    bad = np.argwhere((ids < 0) | (ids >= config['vocab_size']))
    if len(bad):
        b, t = bad[0]
        raise TokenIdError(f"token id {ids[b, t]} at [{b},{t}] is outside 0..{config['vocab_size'] - 1}")


def check_hidden(x, config, what='x'):
    """A residual-stream activation: float [B,T,D] with B, T >= 1 and T <= n_positions."""
    D = config['n_embd']
    if not isinstance(x, np.ndarray) or x.dtype.kind != 'f' or x.ndim != 3 or x.shape[2] != D:
        raise ShapeError(f'{what}: expected a float tensor of shape [B,T,{D}], got {_describe(x)}')
    if x.shape[0] < 1 or x.shape[1] < 1:
        raise ShapeError(f'{what}: empty input {list(x.shape)}')
    if x.shape[1] > config['n_positions']:
        raise SequenceTooLongError(f"{what}: {x.shape[1]} positions > n_positions {config['n_positions']}")


def check_layer(layer, config):
    n = config['n_layer']
    if not isinstance(layer, int) or isinstance(layer, bool) or not 0 <= layer < n:
        raise LayerIndexError(f'layer {layer!r} does not exist: the model has layers 0..{n - 1}')


def check_site(site, config):
    """A LayerNorm site (h.N.ln_1, h.N.ln_2, ln_f); returns the weight-name prefix it stands for."""
    if site == 'ln_f':
        return site
    parts = site.split('.') if isinstance(site, str) else []
    if len(parts) != 3 or parts[0] != 'h' or not parts[1].isdigit() or parts[2] not in ('ln_1', 'ln_2'):
        raise LayerIndexError(f'unknown LayerNorm site {site!r}: expected h.<layer>.ln_1, h.<layer>.ln_2 or ln_f')
    check_layer(int(parts[1]), config)
    return site


def check_cache(past, config, batch, new_tokens):
    """A past cache for B sequences of T new tokens: n_layer keys and values, each [B,H,Tpast,Dh]
    with one Tpast, and Tpast + T <= n_positions. Returns Tpast (0 without a cache)."""
    if past is None:
        return 0
    n, H = config['n_layer'], config['n_head']
    Dh = config['n_embd'] // H
    if not isinstance(past, dict) or not isinstance(past.get('keys'), list) or not isinstance(past.get('values'), list):
        raise CacheShapeError('past: expected {keys: [...], values: [...]}')
    if len(past['keys']) != n or len(past['values']) != n:
        raise CacheShapeError(f"past: expected {n} keys and values (one per layer), got {len(past['keys'])} and {len(past['values'])}")
    past_length = None
    for kind in ('keys', 'values'):
        for i, t in enumerate(past[kind]):
            if not isinstance(t, np.ndarray) or t.dtype.kind != 'f' or t.ndim != 4 or (t.shape[0], t.shape[1], t.shape[3]) != (batch, H, Dh):
                raise CacheShapeError(f'past.{kind}[{i}]: expected [{batch},{H},Tpast,{Dh}], got {_describe(t)}')
            past_length = t.shape[2] if past_length is None else past_length
            if t.shape[2] != past_length:
                raise CacheShapeError(f'past.{kind}[{i}] holds {t.shape[2]} positions but layer 0 holds {past_length}')
    if past_length + new_tokens > config['n_positions']:
        raise SequenceTooLongError(f"sequence too long: {past_length} cached + {new_tokens} tokens > n_positions {config['n_positions']}")
    return past_length


def _describe(value):
    if isinstance(value, np.ndarray):
        return f'{value.dtype.name} {list(value.shape)}'
    return type(value).__name__
