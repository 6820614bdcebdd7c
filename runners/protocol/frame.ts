/**
 * The runner protocol's framing (docs/protocol.md): the magic `G2SP`, a uint32 header length, a uint64
 * payload length, a JSON header, then the raw little-endian bytes of every tensor the message carries.
 * Both sides use this file: the harness (runners/protocol/client.ts) and the Node host (host.ts).
 */
import type { DType, Tensor } from '../contract';
import { ARRAYS, checkTensorRef, isTensor, isTensorRef, MAGIC_TEXT, MAX_HEADER_BYTES, padding, PRELUDE_BYTES, ProtocolError, type TensorRef } from './wire';

export { MAX_HEADER_BYTES, PRELUDE_BYTES, PROTOCOL_VERSION, ProtocolError } from './wire';
export const MAGIC = Buffer.from(MAGIC_TEXT, 'latin1');

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
    const pad = padding(payload);
    if (pad) chunks.push(new Uint8Array(pad));
    payload += pad;
    return ref;
  });
  // Spaces after the JSON bring the payload to a multiple of 8, so that the reader can view tensors in place.
  const raw = Buffer.from(json, 'utf8');
  const header = Buffer.concat([raw, Buffer.alloc(padding(raw.length), 0x20)]);
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
  const { dtype, shape, offset, size, bytes } = checkTensorRef(ref, payload.length);
  const at = payload.byteOffset + offset;
  const View = ARRAYS[dtype];
  // In place when aligned (a padded header makes it so); a copy into aligned memory otherwise.
  if (at % View.BYTES_PER_ELEMENT === 0) return { dtype, shape, data: new View(payload.buffer as ArrayBuffer, at, size) };
  const data = new View(size);
  new Uint8Array(data.buffer).set(payload.subarray(offset, offset + bytes));
  return { dtype, shape, data };
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
