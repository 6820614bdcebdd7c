/**
 * A small builder for ONNX graphs: inputs, outputs, initializers and nodes by name, then ModelProto bytes.
 * Node outputs are named after what they hold (e.g. `h.0.attn.scores`), so a graph reads like the model.
 */
import { type AttrValue, type Dim, type ElemType, encodeModel, type NodeDef, type TensorDef, type ValueInfoDef } from './proto';

/** The one opset every graph uses: Gelu (20) is the newest operator needed; ORT 1.30 accepts up to 26. */
export const OPSET = 20;
/** The IR version that goes with opset 20 (onnx 1.15). */
export const IR_VERSION = 9;

export type FloatType = 'float32' | 'float64';

/** One external-data "file" held in memory: the location a tensor names, and its bytes. */
export interface ExternalData {
  path: string;
  data: Uint8Array;
}

/**
 * A file that external data is written to as the graph is built, one tensor after another (an export's
 * side file): write() stores a tensor's bytes and says where they went, `location` is the file's name
 * relative to the model's folder.
 */
export interface ExternalDataSink {
  readonly location: string;
  write(name: string, bytes: Uint8Array): { offset: number; length: number };
}

/** Little-endian bytes of a typed array, without a copy (every platform ORT's CPU build runs on is little-endian). */
export function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export class GraphBuilder {
  readonly nodes: NodeDef[] = [];
  readonly initializers: TensorDef[] = [];
  readonly inputs: ValueInfoDef[] = [];
  readonly outputs: ValueInfoDef[] = [];
  private readonly used = new Set<string>();
  private readonly constants = new Map<string, string>();
  private count = 0;

  constructor(readonly name: string) {}

  /** A name not used yet in the graph: `base`, else `base_2`, `base_3`... */
  fresh(base: string): string {
    let name = base;
    for (let k = 2; this.used.has(name); k++) name = `${base}_${k}`;
    this.used.add(name);
    return name;
  }

  input(name: string, type: ElemType, dims: readonly Dim[]): string {
    this.inputs.push({ name: this.claim(name), type, dims });
    return name;
  }

  /**
   * Declares a graph output. A node's output is renamed `name` where it is made and used; an input or an
   * initializer, or a value already declared as an output, is passed on through an Identity.
   */
  output(name: string, value: string, type: ElemType, dims: readonly Dim[]): string {
    if (value !== name) {
      const producer = this.nodes.find((n) => n.outputs.includes(value));
      if (producer && !this.outputs.some((o) => o.name === value)) {
        this.claim(name);
        const rename = (list: readonly string[]) => list.map((v) => (v === value ? name : v));
        for (let i = 0; i < this.nodes.length; i++) {
          const n = this.nodes[i]!;
          if (n.inputs.includes(value) || n.outputs.includes(value)) this.nodes[i] = { ...n, inputs: rename(n.inputs), outputs: rename(n.outputs) };
        }
      } else {
        this.nodes.push({ op: 'Identity', inputs: [value], outputs: [this.claim(name)], name: `Identity_${this.count++}` });
      }
    }
    this.outputs.push({ name, type, dims });
    return name;
  }

  /**
   * A weight. With `external`, its bytes stay out of the ModelProto: the tensor names its external data
   * (location = its own name) and the bytes are handed to ORT beside the model (externalData()), without a
   * copy. That keeps a model of any size under protobuf's 2 GB limit and the weights out of the proto's buffer.
   */
  initializer(name: string, type: ElemType, dims: readonly number[], data: ArrayBufferView, opts: { external?: boolean } = {}): string {
    this.initializers.push({ name: this.claim(name), type, dims, bytes: bytesOf(data), external: opts.external ? name : undefined });
    return name;
  }

  /**
   * A weight whose bytes lie in a file, `length` bytes from `offset`: `location` is the file's name, relative
   * to the model's folder (for a model given as bytes, the folder the session is told: sessionOptions'
   * externalFolder). A checkpoint file that ORT reads in place, or an export's side file (ExternalDataSink).
   */
  fileInitializer(name: string, type: ElemType, dims: readonly number[], location: string, extent: { offset: number; length: number }): string {
    this.initializers.push({ name: this.claim(name), type, dims, bytes: new Uint8Array(0), external: location, extent });
    return name;
  }

  /** The bytes of every external initializer held in memory, under its location: InferenceSession's externalData option. */
  externalData(): ExternalData[] {
    return this.initializers.flatMap((t) => (t.external && !t.extent ? [{ path: t.external, data: t.bytes }] : []));
  }

  /** A shared int64 constant (an initializer), e.g. a Reshape target or Split sizes. */
  int64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `i64:${dims.join('x')}:${values.join(',')}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.fresh(`const.i64.${values.join('_').replace(/-/g, 'm')}`);
      this.initializers.push({ name, type: 'int64', dims, bytes: bytesOf(BigInt64Array.from(values, BigInt)) });
      this.constants.set(key, name);
    }
    return name;
  }

  /** A shared float scalar constant in the graph's float type. */
  scalar(value: number, type: FloatType): string {
    const key = `${type}:${value}`;
    let name = this.constants.get(key);
    if (!name) {
      const data = type === 'float32' ? Float32Array.of(value) : Float64Array.of(value);
      name = this.fresh(`const.${type}.${String(value).replace(/[^0-9a-z]/gi, '_')}`);
      this.initializers.push({ name, type, dims: [], bytes: bytesOf(data) });
      this.constants.set(key, name);
    }
    return name;
  }

  /** A shared float constant of the given dims with every element `value`. */
  filled(value: number, dims: readonly number[], type: FloatType): string {
    const key = `${type}:${dims.join('x')}:${value}`;
    let name = this.constants.get(key);
    if (!name) {
      const size = dims.reduce((n, d) => n * d, 1);
      const data = (type === 'float32' ? new Float32Array(size) : new Float64Array(size)).fill(value);
      name = this.fresh(`const.${type}.${dims.join('x')}.${String(value).replace(/[^0-9a-z]/gi, '_')}`);
      this.initializers.push({ name, type, dims, bytes: bytesOf(data) });
      this.constants.set(key, name);
    }
    return name;
  }

  /** Adds a node; returns its output names (named `out`, or after the op). */
  node(op: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, out: string | readonly string[] = op.toLowerCase()): string[] {
    const outputs = (typeof out === 'string' ? [out] : out).map((o) => this.fresh(o));
    this.nodes.push({ op, inputs, outputs, attrs, name: `${op}_${this.count++}` });
    return outputs;
  }

  /**
   * A node of ONNX Runtime's contrib operators (domain com.microsoft, version 1; the model imports the
   * domain when a node uses it). An output named '' is one the node may skip.
   */
  contrib(op: string, inputs: readonly string[], attrs: Record<string, AttrValue>, out: readonly string[]): string[] {
    const outputs = out.map((o) => (o === '' ? '' : this.fresh(o)));
    this.nodes.push({ op, inputs, outputs, attrs, name: `${op}_${this.count++}`, domain: 'com.microsoft' });
    return outputs;
  }

  /** A node with one output. */
  op(op: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, out?: string): string {
    return this.node(op, inputs, attrs, out ?? op.toLowerCase())[0]!;
  }

  toBytes(meta: { producerVersion: string; docString?: string; metadata?: Record<string, string> }): Uint8Array {
    return encodeModel({
      graph: { name: this.name, nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs },
      irVersion: IR_VERSION,
      opset: OPSET,
      producerName: 'gpt2-spec',
      producerVersion: meta.producerVersion,
      docString: meta.docString,
      metadata: meta.metadata,
    });
  }

  private claim(name: string): string {
    if (this.used.has(name)) throw new Error(`graph ${this.name}: the name '${name}' is used twice`);
    this.used.add(name);
    return name;
  }
}
