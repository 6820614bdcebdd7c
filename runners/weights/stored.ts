/**
 * Where a checkpoint's tensors lie in its file: so that a runner can have its backend read them in place
 * (ONNX Runtime maps external data from the file) instead of holding a copy of its own. Only the exact
 * Gpt2Weights object that loadCheckpoint returned knows its file: a copy or a wrapper (`{ ...weights }`)
 * has no location, and the runner falls back to reading the tensors through get().
 *
 * A file read in place must not change under the reader: the stamp (device, inode, size, modification and
 * change times) taken when the file was opened is compared before each use, and a changed file is a
 * CheckpointError, never garbage read silently.
 */
import { statSync } from 'node:fs';
import type { Gpt2Weights } from '../contract';
import { CheckpointError } from '../errors';
import type { SafetensorsDType } from './safetensors';

/** What identifies one version of a file: any write, truncation or replacement changes it. */
export interface FileStamp {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** One tensor's bytes in its file: [offset, offset + length), stored as `dtype`, little-endian. */
export interface StoredTensor {
  path: string;
  stamp: FileStamp;
  dtype: SafetensorsDType;
  shape: readonly number[];
  offset: number;
  length: number;
}

const locations = new WeakMap<Gpt2Weights, (name: string) => StoredTensor | undefined>();

/** Records where `weights`' tensors lie (loadCheckpoint calls it on the object it returns). */
export function recordStored(weights: Gpt2Weights, lookup: (name: string) => StoredTensor | undefined): Gpt2Weights {
  locations.set(weights, lookup);
  return weights;
}

/** Where this tensor of these weights lies in its checkpoint file, if they were loaded from one. */
export function storedTensor(weights: Gpt2Weights, name: string): StoredTensor | undefined {
  return locations.get(weights)?.(name);
}

export function fileStamp(path: string): FileStamp {
  const s = statSync(path, { bigint: true });
  return { dev: s.dev, ino: s.ino, size: s.size, mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs };
}

/** Throws a CheckpointError when the file is gone or is not the version `stamp` describes. */
export function checkUnchanged(path: string, stamp: FileStamp, what: string): void {
  let now: FileStamp;
  try {
    now = fileStamp(path);
  } catch (e) {
    throw new CheckpointError(`${path}: ${what} reads its tensors from this file, which cannot be read any more (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); load the checkpoint again`);
  }
  const changed = (['dev', 'ino', 'size', 'mtimeNs', 'ctimeNs'] as const).filter((k) => now[k] !== stamp[k]);
  if (changed.length === 0) return;
  const how = now.size !== stamp.size ? `its size went from ${stamp.size} to ${now.size} bytes` : now.ino !== stamp.ino || now.dev !== stamp.dev ? 'it was replaced by another file' : 'it was written to';
  throw new CheckpointError(`${path}: ${what} reads its tensors from this file, and it changed since it was loaded (${how}); load the checkpoint again`);
}
