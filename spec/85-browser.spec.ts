/**
 * Runners in a real browser (docs/browser.md): an adapter module runs inside a page of headless Chromium,
 * behind the same protocol messages as any runner process, with its tensors as ArrayBuffers. The harness,
 * the goldens and the comparison stay here. The page is as untrusted as any runner: a console error, a
 * throw, a hang, a crash or stray bytes end in a clear failure of the call, never in a pass.
 *
 * The tests that start Chromium run where it is installed (`apt-get install -y chromium`, or
 * GPT2_SPEC_CHROMIUM), and are skipped with the reason otherwise. They share launches: one page for the
 * correct adapter, one for the hostile one, and two short `check` runs.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findChromium } from '../runners/browser/chromium';
import { decodePageFrame, encodePageFrame } from '../runners/browser/page-frame';
import { RunnerCrashError } from '../runners/errors';
import { packageRoot } from '../runners/paths';
import { groupRssMiB } from '../runners/protocol/child';
import { browserCommand } from '../runners/protocol/commands';
import { encodeFrame, FrameReader } from '../runners/protocol/frame';
import { ProcessRunner } from '../runners/protocol/process-runner';
import { ReferenceRunner } from '../runners/reference/runner';
import { float32, float64, ids, int32 } from '../runners/tensor';
import { TimeLimitError } from '../runners/time-limit';
import { runnerSource } from '../runners/registry';
import { cli } from './support/cli';
import { compareTensors, describeComparison } from './support/compare';
import { loadModel, tolerance } from './support/fixtures';
import { forwardCases } from './support/goldens';
import { mutants } from './support/mutants/mutants';
import { tempDir } from './support/temp';

const here = (path: string) => join(packageRoot(), path);
const REFERENCE = here('spec/support/browser/reference.mjs');
const HOSTILE = here('spec/support/browser/hostile.mjs');
const PLANTED_BUG = here('spec/support/adapters/planted-bug-layer-1.ts');
const mini = () => loadModel('gpt2-mini');
const x = () => float64([1, 3, mini().config.nEmbd], Array.from({ length: 3 * mini().config.nEmbd }, (_, i) => Math.sin(i)));
const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as Error);

/** Why the browser tests cannot run here, or undefined when Chromium is installed. */
const noBrowser = (() => {
  try {
    findChromium();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
})();
const withBrowser = noBrowser ? (title: string, fn: () => void) => describe.skip(`${title} (skipped: ${noBrowser})`, fn) : describe;

async function inPage(adapter: string, limitMs = 60_000, folder?: string): Promise<ProcessRunner> {
  return ProcessRunner.start(browserCommand(adapter, 'runner', { gpu: false, folder }), limitMs);
}

/** A folder for the host to serve at folder/: inside.json in it, secret.json beside it (which must stay unread), and links in it that lead out. */
function servedFolder(): string {
  const parent = tempDir('gpt2-spec-served-');
  mkdirSync(join(parent, 'served'));
  writeFileSync(join(parent, 'served', 'inside.json'), '{}');
  writeFileSync(join(parent, 'secret.json'), '{}');
  symlinkSync(join(parent, 'secret.json'), join(parent, 'served', 'link.json'));
  symlinkSync(parent, join(parent, 'served', 'up'));
  return join(parent, 'served');
}

describe('Runners in a browser page: the same protocol, with the page as the runner process', () => {
  describe('the page frames messages on ArrayBuffers, in the format Node frames them on Buffers', () => {
    const body = { id: 3, result: { logits: float32([1, 2], [0.1, -0]), present: { keys: [float64([1], [Math.PI])], values: [int32([2], [-1, 7])] } } };

    it('a frame the page encodes is read back by the harness with every tensor and its exact bits', () => {
      const [message] = new FrameReader().push(Buffer.from(encodePageFrame(body)));
      expect(message).toEqual(body);
      expect(Object.is((message as typeof body).result.logits.data[1], -0)).toBe(true);
    });

    it('a frame the harness encodes is read by the page, byte for byte the same message', () => {
      const frame = encodeFrame(body);
      const copy = frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength) as ArrayBuffer;
      expect(decodePageFrame(copy)).toEqual(body);
      expect(Buffer.from(encodePageFrame(body)).equals(frame)).toBe(true);
    });

    it('refuses a frame whose prelude announces more or fewer bytes than came, naming the counts', () => {
      const frame = encodeFrame(body);
      const short = frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength - 8) as ArrayBuffer;
      expect(() => decodePageFrame(short)).toThrow(/the prelude announces \d+ bytes, the frame has \d+/);
    });
  });

  it('refuses --browser for what is not an adapter module, and a browser it does not know, before anything starts', () => {
    const r = cli(['check', '--browser', 'firefox', '--runner', REFERENCE]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--browser firefox: the browsers are chromium/);
    const c = cli(['check', '--browser', '--runner', 'cmd:python3 runner.py']);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/--browser runs adapter modules \(\.ts, \.js, \.mjs\); cmd:python3 runner\.py is not one/);
  });

  it('makes a browser runner unavailable where there is no Chromium, with the install hint', async () => {
    const cmd = { ...browserCommand(REFERENCE, 'runner', { gpu: false }), env: { GPT2_SPEC_CHROMIUM: '/nonexistent/chromium' } };
    const e = await failure(ProcessRunner.start(cmd));
    expect(e?.name).toBe('BrowserUnavailableError');
    expect(e?.message).toMatch(/GPT2_SPEC_CHROMIUM=\/nonexistent\/chromium is not an executable file; install it \(apt-get install -y chromium\)/);
  });

  it('refuses a folder to serve that is not one, naming it, before the browser starts', async () => {
    const missing = join(tempDir('gpt2-spec-served-'), 'missing');
    // A label of its own: the run's fault ledger counts the crashed starts per label, and must not mark the reference page's hello() broken.
    const e = await failure(ProcessRunner.start(browserCommand(REFERENCE, 'runner', { gpu: false, folder: missing, label: 'browser-missing-folder' })));
    expect(e?.name).toBe('AdapterError');
    expect(e?.message).toBe(`GPT2_SPEC_BROWSER_FOLDER=${missing}: not a folder`);
  });

  withBrowser('a correct adapter, inside a page', () => {
    let page: ProcessRunner;
    const reference = new ReferenceRunner();
    beforeAll(async () => {
      page = await inPage(REFERENCE);
      await page.load(mini());
      await reference.load(mini());
    }, 90_000);
    afterAll(() => page?.dispose());

    it('reports the backend that ran, with the browser and its version', () => {
      expect(page.backend).toMatch(/^float64 typescript in Chromium \d+\.\d+\.\d+\.\d+$/);
    });

    it('computes what the same code computes in Node, bit for bit: the tensors cross as raw bytes both ways', async () => {
      const input = ids([[464 % 512, 290, 332, 319]]);
      expect(await page.embed(input)).toEqual(await reference.embed(input));
      expect(await page.mlp(x(), 1)).toEqual(await reference.mlp(x(), 1));
      const [got, want] = [await page.forward(input), await reference.forward(input)];
      expect(got.logits).toEqual(want.logits);
      expect(got.present.keys[1]).toEqual(want.present.keys[1]);
    });

    it('carries a refusal by its name, as a runner in Node does', async () => {
      const e = await failure(page.embed(ids([[mini().config.vocabSize]])));
      expect(e?.name).toBe('TokenIdError');
    });

    it('counts the browser in the memory limit: its processes are in the runner process group', () => {
      // The host alone is a node of ~100 MiB; with Chromium's browser, GPU-less zygote and renderer it is several times that.
      expect(groupRssMiB(page.pid!)).toBeGreaterThan(300);
    });
  });

  withBrowser('a hostile adapter, inside a page: each fault fails its call, and the page is contained', () => {
    let page: ProcessRunner;
    beforeAll(async () => {
      page = await inPage(HOSTILE, 5_000, servedFolder());
      await page.load(mini());
    }, 90_000);
    afterAll(() => page?.dispose().catch(() => undefined));

    it("captures the page's console errors in the runner's stderr, for the report", async () => {
      const line = 'console.error: hostile page: an error on the console at start';
      await until(() => page.stderr().includes(line));
      expect(page.stderr()).toContain(line);
    });

    it("serves the page the fixtures' model folders, installed packages and the folder it was given, and nothing above them, through links or malformed: never the goldens", async () => {
      const expected = {
        'fixtures/transformers-js/gpt2-mini/config.json': 200,
        'fixtures/manifest.json': 404,
        'fixtures/cases/gpt2-mini/random-8.safetensors': 404,
        'fixtures/transformers-js/..%2fmanifest.json': 404,
        'fixtures/..%2fpackage.json': 404,
        'pkg/playwright-core/package.json': 200,
        'pkg/playwright-core/..%2f..%2fpackage.json': 404,
        'pkg/..%2fpackage.json': 404,
        'pkg/.%2fpackage.json': 404,
        'pkg/%E0%A4%A': 404,
        'folder/inside.json': 200,
        'folder/..%2fsecret.json': 404,
        'folder/': 404,
        'folder/link.json': 404,
        'folder/up/secret.json': 404,
      };
      // The page's console reaches the stderr on its own way, not with the answer to load: it may come after it.
      const probed = () => [...page.stderr().matchAll(/hostile page: GET (\S+) (\d+)/g)];
      await until(() => probed().length === Object.keys(expected).length, 3_000);
      expect(Object.fromEntries(probed().map((m) => [m[1], Number(m[2])]))).toEqual(expected);
    });

    it('fails a call whose answer is not a tensor, in the harness, not in the page', async () => {
      const e = await failure(page.layerNorm(x(), 'h.0.ln_1'));
      expect(e?.name).toBe('ProtocolError');
    });

    it('fails a call that throws, with its error name and message', async () => {
      const e = await failure(page.lmHead(x()));
      expect(e?.name).toBe('RangeError');
      expect(e?.message).toBe('hostile page: lmHead refuses');
    });

    it('ends the runner when the page posts bytes that are not a frame: a crash of that call, never an answer', async () => {
      const e = await failure(page.attention(x(), 0));
      expect(e).toBeInstanceOf(RunnerCrashError);
      expect(e?.message).toMatch(/exited with status 3 during attention\(\).*the page's answer is not a frame/s);
    });

    it('reports a page crash as a crash of the call in flight, and starts a new page for the next call', async () => {
      const call = failure(page.block(x(), 0));
      // The renderer dies as it would from a GPU fault or an out-of-memory kill.
      await until(() => page.stderr().includes('hostile page: block() is in flight'));
      for (const pid of renderers(page.pid!)) process.kill(pid, 'SIGKILL');
      const e = await call;
      expect(e).toBeInstanceOf(RunnerCrashError);
      expect(e?.message).toMatch(/exited with status 70 during block\(\).*the page crashed during block\(\)/s);
    }, 30_000);

    it('kills a page whose thread never returns at the time limit, with the whole browser', async () => {
      const call = failure(page.mlp(x(), 0));
      const group = page.pid!;
      const e = await call;
      expect(e).toBeInstanceOf(TimeLimitError);
      expect(e?.message).toMatch(/mlp\(\) did not finish within 5 s, and was killed/);
      // Chromium was started in the host's process group, so the harness's kill of the group ended it too.
      await until(() => inGroup(group).length === 0);
      expect(inGroup(group)).toEqual([]);
    }, 90_000);
  });

  withBrowser('the built-in browser runners: tfjs on WebGL and the onnx graphs on onnxruntime-web', () => {
    it.each([
      ['browser-tfjs-webgl', /^tfjs 4\.22\.0 webgl \(WebGL 2, float32 textures, .+\) in Chromium \d/],
      ['browser-onnx-wasm', /^onnxruntime-web 1\.30\.0 wasm float32 \(1 wasm thread\) in Chromium \d/],
    ])('%s reports what ran, and its forward is within the float32 tolerance of the golden logits', async (name, backend) => {
      const c = forwardCases().find((k) => k.id === 'gpt2-mini/random-8')!;
      const runner = await runnerSource(name).create();
      try {
        expect(runner.backend).toMatch(backend);
        await runner.load(loadModel(c.info.model));
        const { logits } = await runner.forward(c.get('input_ids'));
        const tol = tolerance('forward.logits', 'float32');
        const comparison = compareTensors(logits, c.get('logits'), tol);
        expect(describeComparison('logits', comparison, tol)).toMatch(/^logits: within tolerance/);
        expect(comparison.pass).toBe(true);
      } finally {
        await runner.dispose();
      }
    }, 120_000);

    // docs/browser.md: onnxruntime-web's WebGPU Gelu ignores approximate='tanh'. When a release fixes it, this fails, and the doc changes.
    it("browser-onnx-webgpu fails mlp.output, computing the erf GELU where the graph asks for the tanh one", async () => {
      const c = forwardCases().find((k) => k.id === 'gpt2-mini/random-8')!;
      const weights = loadModel(c.info.model);
      const erf = mutants['erf-gelu']();
      await erf.load(weights);
      const runner = await runnerSource('browser-onnx-webgpu').create();
      try {
        expect(runner.backend).toMatch(/^onnxruntime-web 1\.30\.0 webgpu float32 \(.+\) in Chromium \d/);
        await runner.load(weights);
        const x = c.get('h.0.ln_2.output'); // [1, T, D]
        const got = await runner.mlp(x, 0);
        const tol = tolerance('mlp.output', 'float32');
        expect(compareTensors(got, c.get('h.0.mlp.output'), tol).pass).toBe(false);
        expect(compareTensors(got, await erf.mlp(x, 0), tol).pass).toBe(true);
      } finally {
        await runner.dispose();
      }
    }, 120_000);
  });

  withBrowser("the built-in browser-transformers-js: transformers.js's web build on its own GPT-2", () => {
    // The same folder and the same forward as the transformers.js runner in Node, on another build of ONNX
    // Runtime (onnxruntime-web's wasm, not onnxruntime-node's native CPU kernels): close, not bit for bit.
    it('reports the web build, its onnxruntime-web and its device, refuses another model, and computes what the Node build computes within the float32 tolerance', async () => {
      const c = forwardCases().find((k) => k.id === 'gpt2-mini/random-8')!;
      const weights = loadModel(c.info.model);
      const page = await runnerSource('browser-transformers-js').create();
      const node = await runnerSource('transformers.js').create();
      try {
        expect(page.backend).toMatch(/^transformers\.js 4\.3\.2 web \(AutoModelForCausalLM, its own forward\), onnxruntime-web 1\.31\.0-dev\S* wasm fp32 \(1 wasm thread\), gpt2-mini\/onnx\/model\.onnx in Chromium \d/);
        const refused = await failure(page.load(loadModel('gpt2-tiny')));
        expect(refused?.name).toBe('NotExposedError');
        expect(refused?.message).toMatch(/transformers\.js runs only the model of fixtures\/transformers-js\/gpt2-mini: layers 3 \(this model has 2\)/);
        await page.load(weights);
        await node.load(weights);
        const input = c.get('input_ids');
        const [got, want] = [await page.forward(input), await node.forward(input)];
        const logits = tolerance('forward.logits', 'float32');
        const present = tolerance('forward.present', 'float32');
        expect(describeComparison('logits', compareTensors(got.logits, c.get('logits'), logits), logits)).toMatch(/^logits: within tolerance/);
        expect(compareTensors(got.logits, want.logits, logits).pass).toBe(true);
        const last = mini().config.nLayer - 1;
        expect(compareTensors(got.present.values[last], want.present.values[last]!, present).pass).toBe(true);
      } finally {
        await page.dispose();
        await node.dispose();
      }
    }, 120_000);
  });

  withBrowser('gpt2-spec check --browser --runner ADAPTER', () => {
    it('passes a correct ES-module adapter in the page, naming the browser in the backend', () => {
      const out = join(tempDir('gpt2-spec-browser-'), 'report.json');
      const html = join(tempDir('gpt2-spec-browser-'), 'report.html');
      const r = cli(['check', '--browser', '--runner', REFERENCE, '--only', 'gpt2-mini/random-8', '--json', out, '--html', html], { timeoutMs: 300_000 });
      expect(r.stdout).toMatch(/Verdict: PASS/);
      expect(r.code).toBe(0);
      const report = JSON.parse(readFileSync(out, 'utf8'));
      expect(report.runners[0].backend).toMatch(/^float64 typescript in Chromium \d+\.\d+/);
      // The HTML report's runners table names the browser, its version and the backend.
      expect(readFileSync(html, 'utf8')).toMatch(/<td>float64 typescript in Chromium \d+\.\d+\.\d+\.\d+<\/td>/);
    }, 300_000);

    it('generate --browser continues a prompt in the page with the tokens the same runner gives in Node', () => {
      const args = ['generate', '--model', 'gpt2-tiny', '--ids', '[464, 3797]', '--max-new-tokens', '5'];
      const inPage = cli([...args, '--browser', '--runner', REFERENCE], { timeoutMs: 120_000 });
      const inNode = cli([...args, '--runner', 'reference'], { timeoutMs: 120_000 });
      expect(inPage.code).toBe(0);
      expect(inNode.code).toBe(0);
      expect(inPage.stdout.trim()).not.toBe('');
      expect(inPage.stdout).toBe(inNode.stdout);
    }, 240_000);

    it('fails a planted bug at its row: layer_norm passes, mlp.output fails in layer 1', () => {
      const out = join(tempDir('gpt2-spec-browser-'), 'report.json');
      const r = cli(['check', '--browser', '--runner', PLANTED_BUG, '--only', 'layer_norm|mlp.output', '--json', out], { timeoutMs: 300_000 });
      expect(r.code).toBe(1);
      const results = JSON.parse(readFileSync(out, 'utf8')).results as { component: string; tensor?: string; status: string }[];
      const statuses = (component: string) => new Set(results.filter((x) => x.component === component).map((x) => x.status));
      expect(statuses('layer_norm')).toEqual(new Set(['pass']));
      expect(statuses('mlp.output')).toContain('fail');
      const failed = results.filter((x) => x.component === 'mlp.output' && x.status === 'fail');
      expect(failed.every((x) => /h\.1\./.test(x.tensor ?? ''))).toBe(true);
    }, 300_000);
  });
});

/** The live processes of a process group, with their command lines (zombies, already ended, left out). */
function inGroup(pgid: number): { pid: number; cmdline: string }[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .flatMap((p) => {
      try {
        const stat = readFileSync(`/proc/${p}/stat`, 'latin1');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(fields[2]) !== pgid || fields[0] === 'Z') return [];
        return [{ pid: Number(p), cmdline: readFileSync(`/proc/${p}/cmdline`, 'latin1') }];
      } catch {
        return [];
      }
    });
}

/** Chromium's renderer processes in a runner's process group. */
const renderers = (pgid: number): number[] => inGroup(pgid).filter((p) => p.cmdline.includes('--type=renderer')).map((p) => p.pid);

async function until(condition: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((ok) => setTimeout(ok, 100));
  }
}
