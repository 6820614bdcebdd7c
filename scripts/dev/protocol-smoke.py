"""A small driver for the runner protocol: starts a runner command, loads the fixture models, and
compares every component the runner exposes against the golden case files.

    python3 scripts/dev/protocol-smoke.py 'python3 examples/python/numpy_gpt2.py'
    python3 scripts/dev/protocol-smoke.py --model gpt2-mini 'examples/c/runner'

Each component is judged as the harness judges it: |actual - golden| <= atol + rtol * |golden|,
with the manifest's tolerance for the result's dtype. The summary gives, per component, the largest
absolute error and the largest share of the tolerance used (> 1 fails). It also checks that bad
input is refused with the protocol's error names. Exit status 1 when anything failed.
"""

import argparse
import json
import os
import shlex
import subprocess
import sys

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
sys.path.insert(0, os.path.join(ROOT, 'runners', 'python'))
import gpt2_spec_runner as protocol  # noqa: E402


class RunnerError(Exception):
    def __init__(self, error):
        super().__init__(f"{error.get('name')}: {error.get('message')}")
        self.name = error.get('name')


class Child:
    """A runner process spoken to over its stdin and stdout."""

    def __init__(self, command):
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.next_id = 0

    def call(self, method, params=None):
        self.next_id += 1
        protocol.write_message(self.process.stdin, {'id': self.next_id, 'method': method, 'params': params or {}})
        frame = protocol.read_frame(self.process.stdout)
        if frame is None:
            raise SystemExit(f'runner exited during {method} (status {self.process.wait()})')
        header, payload = frame
        if header.get('id') != self.next_id:
            raise SystemExit(f"{method}: answer id {header.get('id')!r}, expected {self.next_id}")
        if 'error' in header:
            raise RunnerError(header['error'])
        return protocol.decode_tensors(header['result'], payload)

    def close(self):
        try:
            self.call('shutdown')
        finally:
            self.process.stdin.close()
            status = self.process.wait(timeout=30)
        if status != 0:
            raise SystemExit(f'runner exited with status {status} after shutdown')


class Report:
    """Per component: the largest absolute error and share of the tolerance, across every call."""

    def __init__(self, tolerances):
        self.tolerances = tolerances
        self.rows = {}  # component -> [max abs error, max share, calls, dtype, first failure]
        self.failures = []

    def compare(self, component, actual, golden, where):
        actual = np.asarray(actual)
        if actual.shape != golden.shape:
            self.fail(component, where, f'shape {list(actual.shape)}, expected {list(golden.shape)}')
            return
        dtype = 'float32' if actual.dtype == np.float32 else 'float64'
        tol = self.tolerances[dtype][component]
        error = np.abs(actual.astype(np.float64) - golden)
        share = error / (tol['atol'] + tol['rtol'] * np.abs(golden))
        worst = float(np.nanmax(share)) if share.size else 0.0
        if not np.all(np.isfinite(actual)):
            worst = float('inf')
        row = self.rows.setdefault(component, [0.0, 0.0, 0, dtype, None])
        row[0] = max(row[0], float(np.nanmax(error)) if error.size else 0.0)
        row[1] = max(row[1], worst)
        row[2] += 1
        if worst > 1 and row[4] is None:
            row[4] = where
            self.failures.append(f'{component} at {where}: {worst:.3g} x tolerance')

    def fail(self, component, where, why):
        row = self.rows.setdefault(component, [0.0, float('inf'), 0, '-', None])
        row[1] = float('inf')
        row[4] = row[4] or where
        self.failures.append(f'{component} at {where}: {why}')

    def print(self):
        print(f"{'component':<20} {'dtype':<8} {'calls':>5} {'max |err|':>11} {'of tol':>9}  result")
        for component, (error, share, calls, dtype, first) in self.rows.items():
            verdict = 'ok' if share <= 1 else f'FAIL (first at {first})'
            print(f'{component:<20} {dtype:<8} {calls:>5} {error:>11.3g} {share:>9.3g}  {verdict}')


def goldens(file):
    return protocol.read_safetensors(file)


def check_components(child, exposes, case, g, config, report):
    """Each building block fed its own golden input, as the spec feeds it."""
    name = case['name']
    ids = g['input_ids']
    T = ids.shape[1]
    if 'embed' in exposes:
        report.compare('embed', child.call('embed', {'ids': ids, 'pastLength': 0})['output'], g['embed.output'], f'{name} embed')
        k = T // 2  # the second half after the first half as if cached: positions k..T-1
        out = child.call('embed', {'ids': np.ascontiguousarray(ids[:, k:]), 'pastLength': k})['output']
        report.compare('embed', out, g['embed.output'][:, k:], f'{name} embed after {k}')
    for i in range(config['n_layer']):
        p = f'h.{i}'
        if 'layerNorm' in exposes:
            for site, x in ((f'{p}.ln_1', g[f'{p}.input']), (f'{p}.ln_2', g[f'{p}.residual'])):
                report.compare('layer_norm', child.call('layerNorm', {'x': x, 'site': site})['output'], g[f'{site}.output'], f'{name} {site}')
        if 'attention' in exposes:
            check_attention(child, g, i, name, report)
        if 'mlp' in exposes:
            out = child.call('mlp', {'x': g[f'{p}.ln_2.output'], 'layer': i})['output']
            report.compare('mlp.output', out, g[f'{p}.mlp.output'], f'{name} {p}.mlp')
        if 'block' in exposes:
            out = child.call('block', {'x': g[f'{p}.input'], 'layer': i})['output']
            report.compare('block', out, g[f'{p}.output'], f'{name} {p}')
    last = f"h.{config['n_layer'] - 1}.output"
    if 'layerNorm' in exposes:
        report.compare('layer_norm', child.call('layerNorm', {'x': g[last], 'site': 'ln_f'})['output'], g['ln_f.output'], f'{name} ln_f')
    if 'lmHead' in exposes:
        report.compare('lm_head', child.call('lmHead', {'x': g['ln_f.output']})['output'], g['logits'], f'{name} lmHead')
    if 'forward' in exposes:
        check_forward(child, case, g, config, report)
    return T


def check_attention(child, g, i, name, report):
    p = f'h.{i}.attn'
    result = child.call('attention', {'x': g[f'h.{i}.ln_1.output'], 'layer': i, 'trace': True})
    report.compare('attention.output', result['output'], g[f'{p}.output'], f'{name} {p}')
    trace = result.get('trace') or {}
    for field, component in (('query', 'attention.qkv'), ('key', 'attention.qkv'), ('value', 'attention.qkv'),
                             ('scores', 'attention.scores'), ('weights', 'attention.weights'), ('context', 'attention.context')):
        if field in trace:
            report.compare(component, trace[field], g[f'{p}.{field}'], f'{name} {p}.{field}')
        else:
            report.fail(component, f'{name} {p}.{field}', 'not in the trace')


def golden_present(g, config):
    n = config['n_layer']
    return {'keys': [g[f'present.{i}.key'] for i in range(n)], 'values': [g[f'present.{i}.value'] for i in range(n)]}


def check_forward(child, case, g, config, report):
    name = case['name']
    result = child.call('forward', {'ids': g['input_ids']})
    report.compare('forward.logits', result['logits'], g['logits'], f'{name} forward')
    want = golden_present(g, config)
    for kind in ('keys', 'values'):
        for i, t in enumerate(result['present'][kind]):
            report.compare('forward.present', t, want[kind][i], f'{name} present.{kind}[{i}]')
    if 'next.logits' in g:  # one cached step after the prompt, from the golden cache
        step = child.call('forward', {'ids': g['next.input_ids'], 'past': want})
        report.compare('forward.logits', step['logits'], g['next.logits'], f'{name} cached step')
    if 'generate.output_ids' in g:
        check_generate(child, case, g, report)


def check_generate(child, case, g, report):
    """A greedy loop of cached one-token forwards; ties go to the lowest id, as argmax gives."""
    want = g['generate.output_ids']
    ids = g['input_ids']
    result = child.call('forward', {'ids': ids})
    tokens = [ids]
    while sum(t.shape[1] for t in tokens) < want.shape[1]:
        step = np.argmax(result['logits'][:, -1, :], axis=-1).astype(np.int32)[:, None]  # [B, 1]
        tokens.append(step)
        if sum(t.shape[1] for t in tokens) < want.shape[1]:
            result = child.call('forward', {'ids': step, 'past': result['present']})
    got = np.concatenate(tokens, axis=1)
    row = report.rows.setdefault('generate', [0.0, 0.0, 0, 'int32', None])
    row[2] += 1
    if not np.array_equal(got, want):
        at = int(np.argmax((got != want).any(axis=0)))
        row[1] = float('inf')
        row[4] = row[4] or f"{case['name']} token {at}"
        report.failures.append(f"generate at {case['name']}: first differs at token {at}")


def check_layer_norm_rows(child, g, report):
    for site in ('h.0.ln_1', 'h.1.ln_2', 'ln_f'):
        out = child.call('layerNorm', {'x': g['layer_norm.input'], 'site': site})['output']
        report.compare('layer_norm', out, g[f'layer_norm.{site}.output'], f'layer-norm-rows {site}')


def expect_error(child, report, name, method, params):
    row = report.rows.setdefault('refusals', [0.0, 0.0, 0, '-', None])
    row[2] += 1
    try:
        child.call(method, params)
        got = 'an answer'
    except RunnerError as e:
        if e.name == name:
            return
        got = str(e)
    row[1] = float('inf')
    row[4] = row[4] or f'{method} -> {name}'
    report.failures.append(f'{method}: expected {name}, got {got}')


def check_refusals(child, exposes, config, report):
    V, P, n = config['vocab_size'], config['n_positions'], config['n_layer']
    ids = np.zeros((1, 2), dtype=np.int32)
    if 'embed' in exposes:
        expect_error(child, report, 'TokenIdError', 'embed', {'ids': np.array([[0, V]], np.int32), 'pastLength': 0})
        expect_error(child, report, 'TokenIdError', 'embed', {'ids': np.array([[-1]], np.int32), 'pastLength': 0})
        expect_error(child, report, 'SequenceTooLongError', 'embed', {'ids': ids, 'pastLength': P - 1})
        expect_error(child, report, 'SequenceTooLongError', 'embed', {'ids': np.zeros((1, P + 1), np.int32), 'pastLength': 0})
    if 'forward' in exposes:
        H, Dh = config['n_head'], config['n_embd'] // config['n_head']
        cache = lambda layers, shape: {'keys': [np.zeros(shape)] * layers, 'values': [np.zeros(shape)] * layers}  # noqa: E731
        expect_error(child, report, 'TokenIdError', 'forward', {'ids': np.array([[V]], np.int32)})
        expect_error(child, report, 'SequenceTooLongError', 'forward', {'ids': np.zeros((1, P + 1), np.int32)})
        expect_error(child, report, 'CacheShapeError', 'forward', {'ids': ids, 'past': cache(n - 1, (1, H, 3, Dh))})
        expect_error(child, report, 'CacheShapeError', 'forward', {'ids': ids, 'past': cache(n, (1, H + 1, 3, Dh))})
        expect_error(child, report, 'CacheShapeError', 'forward', {'ids': ids, 'past': cache(n, (2, H, 3, Dh))})
        expect_error(child, report, 'SequenceTooLongError', 'forward', {'ids': ids, 'past': cache(n, (1, H, P - 1, Dh))})
    x = np.zeros((1, 2, config['n_embd']))
    for method, params in (('attention', {'x': x, 'layer': n, 'trace': False}), ('mlp', {'x': x, 'layer': -1}), ('block', {'x': x, 'layer': n})):
        if method in exposes:
            expect_error(child, report, 'LayerIndexError', method, params)
    if 'layerNorm' in exposes:
        expect_error(child, report, 'LayerIndexError', 'layerNorm', {'x': x, 'site': f'h.{n}.ln_1'})
        expect_error(child, report, 'ShapeError', 'layerNorm', {'x': np.zeros((1, 2, config['n_embd'] + 1)), 'site': 'ln_f'})


def run_model(command, model, manifest, report):
    child = Child(command)
    hello = child.call('hello', {'protocol': 1, 'harness': 'protocol-smoke 0'})
    exposes = set(hello['exposes'])
    print(f"{model}: {hello['name']} ({hello['backend']}) exposes {', '.join(hello['exposes'])}" + (', wants weights' if hello.get('weights') else ''))
    first = next((m for m in ('embed', 'layerNorm', 'forward') if m in exposes), None)
    if first:  # a model method before load
        expect_error(child, report, 'RunnerStateError', first, {'ids': np.zeros((1, 1), np.int32), 'x': np.zeros((1, 1, 1)), 'site': 'ln_f'})
    path = os.path.join(ROOT, 'fixtures', manifest['models'][model]['path'])
    config, weights = protocol.load_checkpoint(path)
    load = {'path': path, 'config': config}
    if hello.get('weights'):
        load['weights'] = weights
    child.call('load', load)
    for case in manifest['cases']:
        if case['model'] != model:
            continue
        g = goldens(os.path.join(ROOT, 'fixtures', case['file']))
        if case['kind'] == 'layer-norm':
            if 'layerNorm' in exposes:
                check_layer_norm_rows(child, g, report)
        else:
            check_components(child, exposes, case, g, config, report)
    check_refusals(child, exposes, config, report)
    child.call('dispose')
    child.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('command', help='the runner command line, split as a shell would')
    parser.add_argument('--model', action='append', choices=['gpt2-mini', 'gpt2-tiny'], help='default: both')
    args = parser.parse_args()
    with open(os.path.join(ROOT, 'fixtures', 'manifest.json'), encoding='utf-8') as f:
        manifest = json.load(f)
    report = Report(manifest['tolerances'])
    for model in args.model or ['gpt2-mini', 'gpt2-tiny']:
        run_model(shlex.split(args.command), model, manifest, report)
    report.print()
    for failure in report.failures:
        print('FAIL', failure)
    print('all ok' if not report.failures else f'{len(report.failures)} failure(s)')
    sys.exit(1 if report.failures else 0)


if __name__ == '__main__':
    main()
