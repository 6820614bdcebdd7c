/**
 * The runner protocol's framing (docs/protocol.md): the magic `G2SP`, a uint32 header length, a uint64
 * payload length, a JSON header, then the raw little-endian bytes of every tensor the message carries.
 * Both sides use this file: the harness (runners/protocol/client.ts) and the Node host (host.ts).
 */
import type { DType, Tensor } from '../contract';
import { shapeSize } from '../tensor';

export const PROTOCOL_VERSION = 1;
export const MAGIC = Buffer.from('G2SP', 'latin1');
export const PRELUDE_BYTES = 16;
/** A header is small JSON; anything larger is a broken or hostile stream, not a message. */
export const MAX_HEADER_BYTES = 64 * 1024 * 1024;

/** A framing problem: a stream that is not this protocol. */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

const ITEM_BYTES: Record<DType, number> = { float32: 4, float64: 8, int32: 4 };
const ARRAYS = { float32: Float32Array, float64: Float64Array, int32: Int32Array } as const;

interface TensorRef {
  dtype: DType;
  shape: number[];
  offset: number;
}

const isTensor = (v: unknown): v is Tensor =>
  typeof v === 'object' && v !== null && ArrayBuffer.isView((v as Tensor).data) && Array.isArray((v as Tensor).shape) && typeof (v as Tensor).dtype === 'string';

const isTensorRef = (v: Record<string, unknown>): boolean => {
  const keys = Object.keys(v);
  return keys.length === 3 && 'dtype' in v && 'shape' in v && 'offset' in v;
};

/**
 * Encodes one message as the pieces to write, in order: the prelude and header, then each tensor's own
 * bytes (not copied) with their padding. Tensors anywhere in `body` become header entries.
 */
export function encodeFrameParts(body: unknown): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let payload = 0;
  const json = JSON.stringify(body, (_key, value: unknown) => {
    if (!isTensor(value)) return value;
    const bytes = new Uint8Array(value.data.buffer, value.data.byteOffset, value.data.byteLength);
    const ref: TensorRef = { dtype: value.dtype, shape: [...value.shape], offset: payload };
    chunks.push(bytes);
    payload += bytes.byteLength;
    const pad = (8 - (payload % 8)) % 8;
    if (pad) chunks.push(new Uint8Array(pad));
    payload += pad;
    return ref;
  });
  // Spaces after the JSON bring the payload to a multiple of 8, so that the reader can view tensors in place.
  const raw = Buffer.from(json, 'utf8');
  const header = Buffer.concat([raw, Buffer.alloc((8 - (raw.length % 8)) % 8, 0x20)]);
  const prelude = Buffer.alloc(PRELUDE_BYTES);
  MAGIC.copy(prelude, 0);
  prelude.writeUInt32LE(header.length, 4);
  prelude.writeBigUInt64LE(BigInt(payload), 8);
  return [prelude, header, ...chunks];
}

/** One message as one buffer. */
export const encodeFrame = (body: unknown): Buffer => Buffer.concat(encodeFrameParts(body));

/** The lengths a frame's prelude announces; throws ProtocolError on anything else. */
export function readPrelude(prelude: Buffer): { headerBytes: number; payloadBytes: number } {
  if (!prelude.subarray(0, 4).equals(MAGIC)) {
    throw new ProtocolError(`expected a frame starting with G2SP, got ${JSON.stringify(prelude.subarray(0, 16).toString('latin1'))}`);
  }
  const headerBytes = prelude.readUInt32LE(4);
  const payloadBig = prelude.readBigUInt64LE(8);
  if (headerBytes > MAX_HEADER_BYTES) throw new ProtocolError(`a header of ${headerBytes} bytes is over the ${MAX_HEADER_BYTES}-byte limit`);
  if (payloadBig > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtocolError(`a payload of ${payloadBig} bytes is not possible`);
  return { headerBytes, payloadBytes: Number(payloadBig) };
}

/** Decodes a frame's header and payload: every tensor entry becomes a Tensor, copied out of the payload. */
export function decodeFrame(header: Buffer, payload: Buffer): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(header.toString('utf8'));
  } catch (e) {
    throw new ProtocolError(`the header is not JSON: ${(e as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ProtocolError('the header is not a JSON object');
  return revive(body, payload) as Record<string, unknown>;
}

function revive(value: unknown, payload: Buffer): unknown {
  if (Array.isArray(value)) return value.map((v) => revive(v, payload));
  if (typeof value !== 'object' || value === null) return value;
  const record = value as Record<string, unknown>;
  if (isTensorRef(record)) return tensorAt(record, payload);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) {
    // A key like __proto__ from JSON must stay plain data.
    Object.defineProperty(out, k, { value: revive(v, payload), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function tensorAt(ref: Record<string, unknown>, payload: Buffer): Tensor {
  const { dtype, shape, offset } = ref;
  if (typeof dtype !== 'string' || !Object.hasOwn(ITEM_BYTES, dtype)) throw new ProtocolError(`a tensor has dtype ${JSON.stringify(dtype)}, not float32, float64 or int32`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new ProtocolError(`a tensor has shape ${JSON.stringify(shape)}`);
  if (!Number.isSafeInteger(offset) || (offset as number) < 0 || (offset as number) % 8 !== 0) throw new ProtocolError(`a tensor has offset ${JSON.stringify(offset)}, not a multiple of 8`);
  const size = shapeSize(shape as number[]);
  const bytes = size * ITEM_BYTES[dtype as DType];
  if (!Number.isSafeInteger(bytes) || (offset as number) + bytes > payload.length) {
    throw new ProtocolError(`a ${dtype} tensor of shape [${(shape as number[]).join(',')}] at offset ${offset} runs past the ${payload.length}-byte payload`);
  }
  const at = payload.byteOffset + (offset as number);
  const View = ARRAYS[dtype as DType];
  // In place when aligned (a padded header makes it so); a copy into aligned memory otherwise.
  if (at % View.BYTES_PER_ELEMENT === 0) return { dtype: dtype as DType, shape: shape as number[], data: new View(payload.buffer as ArrayBuffer, at, size) };
  const data = new View(size);
  new Uint8Array(data.buffer).set(payload.subarray(offset as number, (offset as number) + bytes));
  return { dtype: dtype as DType, shape: shape as number[], data };
}

/**
 * Reads frames from a byte stream as chunks arrive. `push` returns the complete messages so far;
 * a framing error is thrown at the first bad byte.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private need?: { headerBytes: number; payloadBytes: number };

  push(chunk: Buffer): Record<string, unknown>[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Record<string, unknown>[] = [];
    for (;;) {
      if (!this.need) {
        if (this.buffered < PRELUDE_BYTES) {
          // Check the magic early: a stray print fails at once instead of waiting for 16 bytes.
          const head = this.peek(Math.min(this.buffered, 4));
          if (!MAGIC.subarray(0, head.length).equals(head)) readPrelude(Buffer.concat([head, Buffer.alloc(16)]).subarray(0, 16));
          return out;
        }
        this.need = readPrelude(this.take(PRELUDE_BYTES));
      }
      const total = this.need.headerBytes + this.need.payloadBytes;
      if (this.buffered < total) return out;
      const header = this.take(this.need.headerBytes);
      const payload = this.take(this.need.payloadBytes);
      this.need = undefined;
      out.push(decodeFrame(header, payload));
    }
  }

  /** Bytes received but not yet part of a whole frame. */
  get pending(): number {
    return this.buffered;
  }

  private peek(n: number): Buffer {
    return Buffer.concat(this.chunks).subarray(0, n);
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const head = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return head;
  }
}
