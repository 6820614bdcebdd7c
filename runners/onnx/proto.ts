/**
 * A protobuf writer for the subset of onnx.proto (proto2) that a GPT-2 graph needs, and the ONNX
 * messages built on it. No npm package ships onnx.proto; this is ~150 lines instead of a dependency,
 * and it never touches a weight element by element: a tensor's raw_data is kept as a reference to the
 * caller's bytes and copied once, with Uint8Array.set, into the final buffer (see docs/onnx.md).
 *
 * Wire format: each field is a varint key (field << 3 | wire type), then a varint (type 0), 4 little-endian
 * bytes (type 5), or a varint length and that many bytes (type 2). Repeated scalars are written unpacked,
 * as proto2 declares them. Field numbers are onnx.proto's (onnx 1.16+).
 */

/** A message being written: small fields go to a growing scratch buffer, large byte fields are kept by reference. */
export class ProtoWriter {
  private readonly parts: Uint8Array[] = [];
  private scratch = new Uint8Array(256);
  private used = 0;
  private flushed = 0; // bytes already moved to `parts`

  /** The encoded length in bytes so far. */
  get length(): number {
    return this.flushed + this.used;
  }

  private reserve(n: number): void {
    if (this.used + n <= this.scratch.length) return;
    const bigger = new Uint8Array(Math.max(this.scratch.length * 2, this.used + n));
    bigger.set(this.scratch.subarray(0, this.used));
    this.scratch = bigger;
  }

  private flush(): void {
    if (this.used === 0) return;
    this.parts.push(this.scratch.slice(0, this.used));
    this.flushed += this.used;
    this.used = 0;
  }

  /** A varint; negative numbers take the 10-byte two's complement form that int64 fields use. */
  private rawVarint(value: number | bigint): void {
    this.reserve(10);
    if (typeof value === 'number' && value >= 0 && value <= 0xffffffff) {
      let v = value;
      while (v > 0x7f) {
        this.scratch[this.used++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      this.scratch[this.used++] = v;
      return;
    }
    let v = BigInt.asUintN(64, BigInt(value));
    while (v > 0x7fn) {
      this.scratch[this.used++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.scratch[this.used++] = Number(v);
  }

  private key(field: number, wireType: number): void {
    this.rawVarint((field << 3) | wireType);
  }

  /** int32, int64, enum and bool fields (wire type 0). */
  varint(field: number, value: number | bigint): this {
    if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new RangeError(`field ${field}: ${value} is not a whole number`);
    this.key(field, 0);
    this.rawVarint(value);
    return this;
  }

  /** A float field (wire type 5, IEEE-754 single, little-endian). */
  float(field: number, value: number): this {
    this.key(field, 5);
    this.reserve(4);
    new DataView(this.scratch.buffer, this.scratch.byteOffset + this.used, 4).setFloat32(0, value, true);
    this.used += 4;
    return this;
  }

  /** A string field (UTF-8, wire type 2). */
  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  /** A bytes field. Large values are not copied until finish(). */
  bytes(field: number, value: Uint8Array): this {
    this.key(field, 2);
    this.rawVarint(value.length);
    if (value.length <= 64) {
      this.reserve(value.length);
      this.scratch.set(value, this.used);
      this.used += value.length;
    } else {
      this.flush();
      this.parts.push(value);
      this.flushed += value.length;
    }
    return this;
  }

  /** An embedded message (wire type 2). The child must be complete: its parts are taken over, not copied. */
  message(field: number, child: ProtoWriter): this {
    this.key(field, 2);
    this.rawVarint(child.length);
    this.flush();
    child.flush();
    for (const p of child.parts) this.parts.push(p);
    this.flushed += child.flushed;
    return this;
  }

  /** The encoded message as one buffer: the only copy of large fields. */
  finish(): Uint8Array {
    this.flush();
    if (this.parts.length === 1) return this.parts[0]!;
    const out = new Uint8Array(this.flushed);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

// ------------------------------------------------------------------------------------------- ONNX messages

/** TensorProto.DataType values. */
export const DataType = { float32: 1, int32: 6, int64: 7, bool: 9, float64: 11 } as const;
export type ElemType = keyof typeof DataType;

/** A dimension: a fixed size, or a symbolic name such as 'batch_size'. */
export type Dim = number | string;

export interface TensorDef {
  name: string;
  type: ElemType;
  dims: readonly number[];
  /** Little-endian element bytes: raw_data, or the external data when `external` is set. */
  bytes: Uint8Array;
  /**
   * Keeps the bytes out of the ModelProto (which protobuf caps at 2 GB): the tensor names this location as
   * its external data, and the bytes travel beside the model (InferenceSession's externalData, or a file).
   */
  external?: string;
  /**
   * Where the external bytes lie in the location's file, for a tensor that ORT reads in place from a
   * checkpoint file (then `bytes` is empty). Without it: offset 0, the length of `bytes`.
   */
  extent?: { offset: number; length: number };
}

export interface ValueInfoDef {
  name: string;
  type: ElemType;
  dims: readonly Dim[];
}

export type AttrValue =
  | { float: number }
  | { int: number }
  | { string: string }
  | { ints: readonly number[] }
  | { floats: readonly number[] }
  | { tensor: TensorDef };

export interface NodeDef {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name: string;
  attrs?: Record<string, AttrValue>;
  domain?: string;
}

export interface GraphDef {
  name: string;
  nodes: readonly NodeDef[];
  initializers: readonly TensorDef[];
  inputs: readonly ValueInfoDef[];
  outputs: readonly ValueInfoDef[];
}

export interface ModelDef {
  graph: GraphDef;
  irVersion: number;
  opset: number;
  producerName: string;
  producerVersion: string;
  docString?: string;
  metadata?: Record<string, string>;
}

/** AttributeProto.AttributeType values. */
const AttrType = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;

export function encodeTensor(t: TensorDef): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of t.dims) w.varint(1, d); // dims
  w.varint(2, DataType[t.type]); // data_type
  w.string(8, t.name); // name
  if (!t.external) return w.bytes(9, t.bytes); // raw_data
  const entry = (k: string, v: string) => new ProtoWriter().string(1, k).string(2, v);
  const { offset, length } = t.extent ?? { offset: 0, length: t.bytes.length };
  w.message(13, entry('location', t.external)).message(13, entry('offset', String(offset))).message(13, entry('length', String(length))); // external_data
  return w.varint(14, 1); // data_location = EXTERNAL
}

function encodeValueInfo(v: ValueInfoDef): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.dims) {
    const dim = new ProtoWriter();
    if (typeof d === 'number') dim.varint(1, d); // dim_value
    else dim.string(2, d); // dim_param
    shape.message(1, dim);
  }
  const tensorType = new ProtoWriter().varint(1, DataType[v.type]).message(2, shape); // elem_type, shape
  const type = new ProtoWriter().message(1, tensorType); // TypeProto.tensor_type
  return new ProtoWriter().string(1, v.name).message(2, type);
}

function encodeAttribute(name: string, value: AttrValue): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  if ('float' in value) w.float(2, value.float).varint(20, AttrType.float);
  else if ('int' in value) w.varint(3, value.int).varint(20, AttrType.int);
  else if ('string' in value) w.string(4, value.string).varint(20, AttrType.string);
  else if ('tensor' in value) w.message(5, encodeTensor(value.tensor)).varint(20, AttrType.tensor);
  else if ('floats' in value) {
    for (const f of value.floats) w.float(7, f);
    w.varint(20, AttrType.floats);
  } else {
    for (const i of value.ints) w.varint(8, i);
    w.varint(20, AttrType.ints);
  }
  return w;
}

function encodeNode(n: NodeDef): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name).string(4, n.op);
  if (n.domain) w.string(7, n.domain);
  for (const [k, v] of Object.entries(n.attrs ?? {})) w.message(5, encodeAttribute(k, v));
  return w;
}

export function encodeGraph(g: GraphDef): ProtoWriter {
  const w = new ProtoWriter();
  for (const n of g.nodes) w.message(1, encodeNode(n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, encodeTensor(t));
  for (const v of g.inputs) w.message(11, encodeValueInfo(v));
  for (const v of g.outputs) w.message(12, encodeValueInfo(v));
  return w;
}

/** A ModelProto as bytes, ready for InferenceSession.create or a .onnx file. */
export function encodeModel(m: ModelDef): Uint8Array {
  const w = new ProtoWriter();
  w.varint(1, m.irVersion); // ir_version
  w.string(2, m.producerName).string(3, m.producerVersion);
  if (m.docString) w.string(6, m.docString);
  w.message(7, encodeGraph(m.graph)); // graph
  w.message(8, new ProtoWriter().string(1, '').varint(2, m.opset)); // opset_import: the default domain
  // ORT's contrib operators (com.microsoft, version 1), imported only by graphs that use them.
  for (const domain of new Set(m.graph.nodes.flatMap((n) => (n.domain ? [n.domain] : [])))) w.message(8, new ProtoWriter().string(1, domain).varint(2, 1));
  for (const [k, v] of Object.entries(m.metadata ?? {})) w.message(14, new ProtoWriter().string(1, k).string(2, v)); // metadata_props
  return w.finish();
}
