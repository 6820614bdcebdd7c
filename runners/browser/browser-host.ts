/**
 * The browser host: runs a JavaScript or TypeScript adapter module inside a page of headless Chromium,
 * and serves it over the runner protocol (docs/protocol.md, docs/browser.md). Started by the harness as
 *   node browser-host.js ADAPTER_PATH runner|tokenizer gpu|no-gpu
 * like the Node host, so the harness's time limit, memory limit, restarts and fault ledger apply as they
 * are. Chromium is started here, in this process's own process group (not by playwright's launcher, which
 * gives it a group of its own): a kill of the group, for a time-out or the memory limit, ends the browser
 * too, and the memory counted is the browser's as well. playwright-core only connects to it, over CDP.
 *
 * The page gets its code, its packages' files (wasm), the fixtures' model folders (never the goldens) and,
 * when GPT2_SPEC_BROWSER_FOLDER names one, the files of one more folder (folder/PATH) from a server on
 * 127.0.0.1; it asks for each request with a POST and sends the answer with the next one. The bytes are
 * frames both ways: the host checks that each answer is one whole frame and writes it to stdout
 * as it came. Nothing else the page does reaches the harness: its console, its errors and a crash go to
 * stderr.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fixturesRoot, packageRoot } from '../paths';
import { encodeFrame, PRELUDE_BYTES, readPrelude } from '../protocol/frame';
import { describeThrown } from '../protocol/serve-adapter';
import { chromiumFlags, findChromium } from './chromium';

const protocolOut = process.stdout.write.bind(process.stdout);
process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
const log = (line: string) => process.stderr.write(`${line}\n`);

/** An idle ask is answered with 204 after this long, so that no fetch of the page waits without end. */
const IDLE_ANSWER_MS = 15_000;
const CHROMIUM_TAIL_LINES = 20;

interface Request {
  frame: Buffer;
  id: unknown;
  method: string;
}

const [adapterArg, kindArg, gpuArg] = process.argv.slice(2);
if (!adapterArg || (kindArg !== 'runner' && kindArg !== 'tokenizer') || (gpuArg !== 'gpu' && gpuArg !== 'no-gpu')) {
  log('usage: node browser-host.js ADAPTER_PATH runner|tokenizer gpu|no-gpu');
  process.exit(2);
}
const adapterPath = resolve(adapterArg);
const kind = kindArg;
const tmp = process.env.GPT2_SPEC_CHILD_TMP ?? mkdtempSync(join(tmpdir(), 'gpt2-spec-browser-'));
const profile = mkdtempSync(join(tmp, 'chromium-profile-'));
const token = randomBytes(16).toString('hex');

let chromium: ChildProcess | undefined;
const chromiumTail: string[] = [];
const queue: Request[] = [];
let inFlight: Request | undefined;
let waiting: { res: ServerResponse; timer: NodeJS.Timeout } | undefined;
let startFailed: Error | undefined;
let chromiumReady = false;

/** Every process below `pid`, from /proc: Chromium's zygote, renderers and GPU process. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'latin1');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(p)]);
    } catch {
      // ended while we looked
    }
  }
  const out: number[] = [];
  const walk = (p: number) => (children.get(p) ?? []).forEach((c) => (out.push(c), walk(c)));
  walk(pid);
  return out;
}

/** Ends the browser and removes its profile; on every way out of this process. */
function endBrowser(): void {
  const pid = chromium?.pid;
  if (pid !== undefined && chromium!.exitCode === null && chromium!.signalCode === null) {
    for (const p of [pid, ...descendants(pid)]) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  chromium = undefined;
  rmSync(profile, { recursive: true, force: true });
}
process.on('exit', endBrowser);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => process.exit(128));

const during = () => (inFlight ? ` during ${inFlight.method}()` : '');

/** Chromium's own log lines that are noise on a machine without a desktop bus. */
const NOISE = /dbus|DevTools listening|^\s*$/i;

function fail(message: string, code: number): never {
  // Chromium's last words first, so that the host's own line is the last of the stderr the harness shows.
  const tail = chromiumTail.filter((l) => !NOISE.test(l));
  if (tail.length) log(`Chromium's last lines:\n${tail.join('\n')}`);
  log(`gpt2-spec browser host: ${message}${during()}`);
  process.exit(code);
}

// ---- the harness's side: raw frames from stdin, relayed as they came ----

// Chunks are kept as they come and joined once a whole frame is there: joining at every 64 KiB chunk
// would copy a 500 MB load request thousands of times.
let chunks: Buffer[] = [];
let buffered = 0;
let need: number | undefined;
const joined = (): Buffer => {
  if (chunks.length > 1) chunks = [Buffer.concat(chunks)];
  return chunks[0] ?? Buffer.alloc(0);
};
process.stdin.on('data', (chunk: Buffer) => {
  chunks.push(chunk);
  buffered += chunk.length;
  for (;;) {
    if (need === undefined) {
      if (buffered < PRELUDE_BYTES) return;
      try {
        const { headerBytes, payloadBytes } = readPrelude(joined().subarray(0, PRELUDE_BYTES));
        need = PRELUDE_BYTES + headerBytes + payloadBytes;
      } catch (e) {
        fail(`the harness sent something that is not a frame: ${(e as Error).message}`, 2);
      }
    }
    if (buffered < need) return;
    const all = joined();
    const frame = all.subarray(0, need);
    const rest = all.subarray(need);
    chunks = rest.length ? [Buffer.from(rest)] : [];
    buffered = rest.length;
    need = undefined;
    const headerBytes = frame.readUInt32LE(4);
    let header: { id?: unknown; method?: unknown } = {};
    try {
      header = JSON.parse(frame.subarray(PRELUDE_BYTES, PRELUDE_BYTES + headerBytes).toString('utf8'));
    } catch {
      // the page answers a broken header with a ProtocolError, as any runner does
    }
    queue.push({ frame, id: header.id ?? null, method: String(header.method) });
    pump();
  }
});
process.stdin.on('end', () => process.exit(0));

/** Hands the next request to the page's waiting ask; or, when the browser could not start, answers it here. */
function pump(): void {
  if (startFailed) {
    while (queue.length) {
      const r = queue.shift()!;
      protocolOut(encodeFrame({ id: r.id, error: describeThrown(startFailed) }));
      if (r.method === 'shutdown') process.exit(0);
    }
    return;
  }
  if (inFlight || !waiting || queue.length === 0) return;
  inFlight = queue.shift()!;
  const { res, timer } = waiting;
  waiting = undefined;
  clearTimeout(timer);
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': inFlight.frame.length });
  res.end(inFlight.frame);
}

// ---- the page's side: a server on 127.0.0.1 ----

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.html': 'text/html' };

/** Isolation headers: SharedArrayBuffer, and so multi-threaded wasm, needs them. */
const ISOLATED = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp', 'cache-control': 'no-store' };

/**
 * `rest` resolved under `root`, when it names a file inside that folder: never the folder itself, nor anything
 * above it, nor a symbolic link that leads out of it (the real paths are compared, so a package folder that is
 * itself a link still serves its own files).
 */
function fileInside(root: string, rest: string): string | undefined {
  const path = resolve(root, rest);
  if (!path.startsWith(root + sep)) return undefined;
  try {
    const real = realpathSync(path);
    return real.startsWith(realpathSync(root) + sep) && statSync(real).isFile() ? real : undefined;
  } catch {
    return undefined; // no such file, or one that cannot be read
  }
}

/** A file of an installed package, by `NAME/PATH`, resolved from the adapter's folder, then from gpt2-spec's. */
function packageFile(rest: string): string | undefined {
  const parts = rest.split('/');
  const nameParts = parts[0]?.startsWith('@') ? 2 : 1;
  const nameSegments = parts.slice(0, nameParts);
  // A name is one folder in node_modules (two with a scope): '..' there would make the folder above a package's.
  if (nameSegments.length < nameParts || nameSegments.some((p) => p === '' || p === '.' || p === '..')) return undefined;
  const name = nameSegments.join('/');
  const file = parts.slice(nameParts).join('/');
  for (const from of [dirname(adapterPath), packageRoot()]) {
    const root = packageDir(name, from);
    const path = root && fileInside(root, file);
    if (path) return path;
  }
  return undefined;
}

/** A URL path's text; '' for a malformed escape (a '%' not followed by UTF-8 in hex), which then names no file. */
function decoded(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return '';
  }
}

/**
 * A file of the fixtures' model folders (fixtures/transformers-js/, the folders a page loads by URL), by its path
 * under the fixtures folder. Nothing else of the fixtures: the goldens stay with the judge.
 */
const MODEL_FOLDERS = 'transformers-js';
const fixtureFile = (rest: string): string | undefined =>
  rest.startsWith(`${MODEL_FOLDERS}/`) ? fileInside(join(fixturesRoot(), MODEL_FOLDERS), rest.slice(MODEL_FOLDERS.length + 1)) : undefined;

/** The one more folder served, read-only, at folder/PATH: GPT2_SPEC_BROWSER_FOLDER (e.g. a model folder written at run time), else none. */
const servedFolder = process.env.GPT2_SPEC_BROWSER_FOLDER ? resolve(process.env.GPT2_SPEC_BROWSER_FOLDER) : undefined;
const servedFile = (rest: string): string | undefined => (servedFolder ? fileInside(servedFolder, rest) : undefined);

/** The page's file routes, by a path's first segment: each finds the file its folder holds under the rest of the path, or none. */
const FILE_ROUTES = new Map<string, (rest: string) => string | undefined>([
  ['pkg', packageFile],
  ['fixtures', fixtureFile],
  ['folder', servedFile],
]);

/** A package's folder as Node would find it from `from`: node_modules/NAME in `from` or a folder above (not every package exports its package.json). */
function packageDir(name: string, from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

function onAsk(res: ServerResponse, body: Buffer): void {
  if (body.length > 0) {
    if (!inFlight) fail('the page sent an answer when no request was in flight', 3);
    let lengths: { headerBytes: number; payloadBytes: number };
    try {
      lengths = readPrelude(body.subarray(0, PRELUDE_BYTES));
    } catch (e) {
      fail(`the page's answer is not a frame: ${(e as Error).message}`, 3);
    }
    if (body.length < PRELUDE_BYTES || PRELUDE_BYTES + lengths.headerBytes + lengths.payloadBytes !== body.length) fail(`the page's answer of ${body.length} bytes is not one whole frame`, 3);
    protocolOut(body);
    const answered = inFlight;
    inFlight = undefined;
    if (answered.method === 'shutdown') {
      res.end();
      process.exit(0);
    }
  }
  if (waiting) {
    // One ask at a time: a second one while the first waits is not this protocol.
    res.writeHead(409).end();
    return;
  }
  waiting = { res, timer: setTimeout(() => idle(res), IDLE_ANSWER_MS) };
  // The page went away mid-ask (a reload, a crash): the ask is gone with it.
  res.on('close', () => {
    if (waiting?.res === res) {
      clearTimeout(waiting.timer);
      waiting = undefined;
    }
  });
  pump();
}

function idle(res: ServerResponse): void {
  if (waiting?.res !== res) return;
  waiting = undefined;
  res.writeHead(204).end();
}

function serve(pageScript: string) {
  const base = `/${token}/`;
  const html = `<!doctype html><meta charset="utf-8"><title>gpt2-spec runner</title><script type="module" src="page.js"></script>`;
  // Whatever a request does wrong ends that response with one line on stderr, never the host.
  return createServer((req, res) => {
    try {
      route(req, res);
    } catch (e) {
      log(`the page's request ${req.url}: ${(e as Error).message}`);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    }
  });

  function route(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/favicon.ico') return void res.writeHead(204).end();
    if (!url.pathname.startsWith(base)) return void res.writeHead(404).end();
    const path = url.pathname.slice(base.length);
    if (req.method === 'POST' && path === 'next') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => onAsk(res, Buffer.concat(chunks)));
      return;
    }
    if (req.method !== 'GET') return void res.writeHead(405).end();
    if (path === '') return void res.writeHead(200, { ...ISOLATED, 'content-type': 'text/html' }).end(html);
    if (path === 'page.js') return void res.writeHead(200, { ...ISOLATED, 'content-type': 'text/javascript' }).end(pageScript);
    const slash = path.indexOf('/');
    const file = slash > 0 ? FILE_ROUTES.get(path.slice(0, slash))?.(decoded(path.slice(slash + 1))) : undefined;
    if (!file) {
      // The page's console says only "404 (Not Found)": the stderr names the file, e.g. a wasmPaths that points elsewhere.
      log(`the page asked for ${path}: not served (404)`);
      return void res.writeHead(404).end();
    }
    // Streamed: a model's weights can be gigabytes, past what one Buffer holds; a read that fails ends this response only.
    res.writeHead(200, { ...ISOLATED, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file)
      .on('error', (e) => {
        log(`the page asked for ${path}: ${e.message}`);
        res.destroy();
      })
      .pipe(res);
  }
}

/** The page's script: page.ts and the adapter in one ES module, bundled for the browser. */
async function bundle(browser: string): Promise<string> {
  const esbuild = require('esbuild') as typeof import('esbuild');
  const settings = { kind, label: adapterArg, browser };
  const entry = [
    `import * as adapter from ${JSON.stringify(adapterPath)};`,
    `import { servePage } from ${JSON.stringify(join(packageRoot(), 'runners/browser/page.ts'))};`,
    `servePage(adapter, ${JSON.stringify(settings)});`,
  ].join('\n');
  try {
    const out = await esbuild.build({
      stdin: { contents: entry, resolveDir: dirname(adapterPath), loader: 'ts' },
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      target: 'chrome120',
      nodePaths: [join(packageRoot(), 'node_modules')],
      // A page has no environment: code shared with Node reads an empty one.
      define: { 'process.env.NODE_ENV': '"production"', 'process.env': '{}' },
      logLevel: 'silent',
    });
    return out.outputFiles[0]!.text;
  } catch (e) {
    const first = (e as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }).errors?.[0];
    if (!first) throw e;
    const at = first.location ? `${resolve(dirname(adapterPath), first.location.file)}:${first.location.line}:${first.location.column + 1}: ` : '';
    throw Object.assign(new Error(`adapter ${adapterArg} cannot be built for the browser: ${at}${first.text}`), { name: 'AdapterError' });
  }
}

/** Starts Chromium in this process group, and waits for its DevTools address. */
function startChromium(executable: string): Promise<string> {
  const child = spawn(executable, chromiumFlags({ userDataDir: profile, gpu: gpuArg === 'gpu' }), { stdio: ['ignore', 'ignore', 'pipe'] });
  chromium = child;
  return new Promise((resolveAddress, reject) => {
    let text = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const lines = text.split('\n');
      text = lines.pop()!;
      for (const line of lines) {
        const m = /DevTools listening on (ws:\/\/\S+)/.exec(line);
        if (m) {
          chromiumReady = true;
          resolveAddress(m[1]!);
        }
        chromiumTail.push(line);
        if (chromiumTail.length > CHROMIUM_TAIL_LINES) chromiumTail.shift();
      }
    });
    child.on('error', (e) => reject(Object.assign(new Error(`${executable} could not be started: ${e.message}`), { name: 'BrowserUnavailableError' })));
    child.on('exit', (code, signal) => {
      reject(Object.assign(new Error(`${executable} exited (${signal ?? `status ${code}`}) before it was ready: ${chromiumTail.slice(-3).join(' | ')}`), { name: 'BrowserUnavailableError' }));
      if (chromiumReady) fail(`Chromium ended (${signal ?? `status ${code}`})`, 71);
    });
  });
}

async function start(): Promise<void> {
  if (servedFolder && !(existsSync(servedFolder) && statSync(servedFolder).isDirectory())) {
    throw Object.assign(new Error(`GPT2_SPEC_BROWSER_FOLDER=${servedFolder}: not a folder`), { name: 'AdapterError' });
  }
  const executable = findChromium();
  const address = await startChromium(executable);
  const { chromium: driver } = require('playwright-core') as typeof import('playwright-core');
  const browser = await driver.connectOverCDP(address);
  const version = `Chromium ${browser.version()}`;
  const server = serve(await bundle(version));
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  server.unref();
  const context = browser.contexts()[0] ?? (await browser.newContext());
  const page = await context.newPage();
  page.on('console', (m) => log(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log(`page error: ${e.message}`));
  page.on('crash', () => fail('the page crashed', 70));
  page.on('close', () => fail('the page was closed', 71));
  browser.on('disconnected', () => fail('the browser went away', 71));
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/${token}/`);
}

start().catch((e: unknown) => {
  startFailed = e instanceof Error ? e : new Error(String(e));
  log(`gpt2-spec browser host: ${startFailed.message}`);
  endBrowser();
  pump();
});
