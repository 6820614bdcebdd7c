/**
 * The runner protocol's framing on ArrayBuffers, for a runner inside a browser page: the same format as
 * runners/protocol/frame.ts (its constants and tensor checks come from wire.ts), without Node's Buffer.
 * Tensors are viewed in place in the received ArrayBuffer, never copied into JSON arrays.
 */
import type { Tensor } from '../contract';
import { ARRAYS, checkTensorRef, isTensor, isTensorRef, MAGIC_TEXT, MAX_HEADER_BYTES, padding, PRELUDE_BYTES, ProtocolError, type TensorRef } from '../protocol/wire';

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

/** One frame, exactly: the whole of `frame` is the prelude, the header and the payload. */
export function decodePageFrame(frame: ArrayBuffer): Record<string, unknown> {
  if (frame.byteLength < PRELUDE_BYTES) throw new ProtocolError(`a frame of ${frame.byteLength} bytes is shorter than its prelude`);
  const view = new DataView(frame);
  const magic = String.fromCharCode(...new Uint8Array(frame, 0, 4));
  if (magic !== MAGIC_TEXT) throw new ProtocolError(`expected a frame starting with ${MAGIC_TEXT}, got ${JSON.stringify(magic)}`);
  const headerBytes = view.getUint32(4, true);
  const payloadBytes = Number(view.getBigUint64(8, true));
  if (headerBytes > MAX_HEADER_BYTES) throw new ProtocolError(`a header of ${headerBytes} bytes is over the limit`);
  if (PRELUDE_BYTES + headerBytes + payloadBytes !== frame.byteLength) throw new ProtocolError(`the prelude announces ${headerBytes + payloadBytes} bytes, the frame has ${frame.byteLength - PRELUDE_BYTES}`);
  let body: unknown;
  try {
    body = JSON.parse(fromUtf8.decode(new Uint8Array(frame, PRELUDE_BYTES, headerBytes)));
  } catch (e) {
    throw new ProtocolError(`the header is not JSON: ${(e as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ProtocolError('the header is not a JSON object');
  return revive(body, frame, PRELUDE_BYTES + headerBytes, payloadBytes) as Record<string, unknown>;
}

function revive(value: unknown, frame: ArrayBuffer, start: number, payloadBytes: number): unknown {
  if (Array.isArray(value)) return value.map((v) => revive(v, frame, start, payloadBytes));
  if (typeof value !== 'object' || value === null) return value;
  const record = value as Record<string, unknown>;
  if (isTensorRef(record)) {
    const { dtype, shape, offset, size, bytes } = checkTensorRef(record, payloadBytes);
    const View = ARRAYS[dtype];
    const at = start + offset;
    if (at % View.BYTES_PER_ELEMENT === 0) return { dtype, shape, data: new View(frame, at, size) };
    const data = new View(size);
    new Uint8Array(data.buffer).set(new Uint8Array(frame, at, bytes));
    return { dtype, shape, data };
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) Object.defineProperty(out, k, { value: revive(v, frame, start, payloadBytes), enumerable: true, writable: true, configurable: true });
  return out;
}

/** One message as one ArrayBuffer: tensors anywhere in `body` become header entries and payload bytes. */
export function encodePageFrame(body: unknown): ArrayBuffer {
  const tensors: { bytes: Uint8Array; offset: number }[] = [];
  let payload = 0;
  const json = JSON.stringify(body, (_key, value: unknown) => {
    if (!isTensor(value)) return value;
    const t = value as Tensor;
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const ref: TensorRef = { dtype: t.dtype, shape: [...t.shape], offset: payload };
    tensors.push({ bytes, offset: payload });
    payload += bytes.byteLength + padding(bytes.byteLength);
    return ref;
  });
  const raw = utf8.encode(json);
  const headerBytes = raw.length + padding(raw.length);
  const frame = new ArrayBuffer(PRELUDE_BYTES + headerBytes + payload);
  const out = new Uint8Array(frame);
  for (let i = 0; i < 4; i++) out[i] = MAGIC_TEXT.charCodeAt(i);
  const view = new DataView(frame);
  view.setUint32(4, headerBytes, true);
  view.setBigUint64(8, BigInt(payload), true);
  out.set(raw, PRELUDE_BYTES);
  out.fill(0x20, PRELUDE_BYTES + raw.length, PRELUDE_BYTES + headerBytes);
  const start = PRELUDE_BYTES + headerBytes;
  for (const t of tensors) out.set(t.bytes, start + t.offset);
  return frame;
}
