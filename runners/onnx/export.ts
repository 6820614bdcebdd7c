/**
 * The decoder as a standard .onnx file on disk (what scripts/export-onnx.ts writes): every weight embedded as
 * raw_data, or, for a model past what one protobuf message can hold, every weight in a side file beside it as
 * ONNX external data (TensorProto data_location EXTERNAL, external_data location / offset / length, the
 * location relative to the model's folder), streamed there tensor by tensor as the graph is built.
 */
import { closeSync, openSync, rmSync } from 'node:fs';
import { basename } from 'node:path';
import type { Gpt2Config, Gpt2Weights } from '../contract';
import { writeAll } from '../files';
import { parameterCount } from '../weights/seeded-checkpoint';
import { decoderGraph, type LmHeadLayout } from './gpt2-graph';
import type { ExternalDataSink, FloatType } from './graph';
import { exportDecoder, modelBytes } from './runner';
import { OnnxSettingsError } from './session';

/** Protobuf's limit on one message (and so on a .onnx file without external data): 2 GiB. */
export const PROTOBUF_LIMIT = 2 ** 31;
/**
 * Above this many bytes of weights the export writes them as external data unless told otherwise: 1.5 GiB,
 * a quarter under protobuf's limit, so that the graph, and readers that copy the message, stay clear of it.
 */
export const EMBED_LIMIT = 1.5 * 2 ** 30;
/** Each tensor in the side file starts at a multiple of this: a page, so that ORT can map it, and any element size divides it. */
export const EXTERNAL_ALIGN = 4096;

/** The bytes of a GPT-2's weights in a graph of this type (the tied LM head is stored once). */
export function weightBytes(config: Gpt2Config, precision: FloatType): number {
  return parameterCount(config) * (precision === 'float32' ? 4 : 8);
}

/** Whether an export of this many bytes of weights goes to external data when the caller does not say. */
export const needsExternalData = (bytes: number): boolean => bytes > EMBED_LIMIT;

/** The side file's name for a model file: `model.onnx` -> `model.onnx.data` (as torch.onnx names it). */
export const sideFileOf = (modelPath: string): string => `${modelPath}.data`;

/** Where one tensor went in the side file. */
export interface ExternalTensor {
  name: string;
  offset: number;
  length: number;
}

/** A side file written front to back: each tensor padded with zeros to the next multiple of `align`. */
export class ExternalDataFile implements ExternalDataSink {
  readonly location: string;
  readonly tensors: ExternalTensor[] = [];
  private readonly fd: number;
  private at = 0;
  private readonly zeros: Uint8Array;

  constructor(
    readonly path: string,
    private readonly align = EXTERNAL_ALIGN,
  ) {
    this.location = basename(path);
    this.zeros = new Uint8Array(align);
    this.fd = openSync(path, 'w');
  }

  write(name: string, bytes: Uint8Array): { offset: number; length: number } {
    const offset = Math.ceil(this.at / this.align) * this.align;
    writeAll(this.fd, this.zeros.subarray(0, offset - this.at));
    writeAll(this.fd, bytes);
    this.at = offset + bytes.length;
    this.tensors.push({ name, offset, length: bytes.length });
    return { offset, length: bytes.length };
  }

  /** The file's size so far. */
  get size(): number {
    return this.at;
  }

  private closed = false;

  close(): void {
    if (!this.closed) closeSync(this.fd);
    this.closed = true;
  }
}

export interface WriteDecoderOptions {
  precision?: FloatType;
  lmHead?: LmHeadLayout;
  /** true: weights in the side file; false: embedded; undefined: decided by size (needsExternalData). */
  externalData?: boolean;
}

export interface WrittenDecoder {
  path: string;
  /** The .onnx file's size. */
  modelBytes: number;
  /** The side file, when the weights went to one. */
  external?: { path: string; location: string; bytes: number; tensors: ExternalTensor[] };
}

/**
 * Writes the full decoder graph of `weights` to `path` (exportDecoder's graph). The model file is opened
 * first, so that a path that cannot be written fails before any weight is read; on any failure the files
 * begun here are removed.
 */
export function writeDecoder(weights: Gpt2Weights, path: string, opts: WriteDecoderOptions = {}): WrittenDecoder {
  const precision = opts.precision ?? 'float32';
  const bytes = weightBytes(weights.config, precision);
  const external = opts.externalData ?? needsExternalData(bytes);
  if (!external && bytes >= PROTOBUF_LIMIT) {
    const gb = (bytes / 1e9).toFixed(2);
    throw new OnnxSettingsError(`the ${precision} weights are ${gb} GB, more than one protobuf message (a .onnx file without external data) can hold (2 GiB): write them as external data`);
  }
  const fd = openSync(path, 'w');
  let side: ExternalDataFile | undefined;
  try {
    let model: Uint8Array;
    if (external) {
      side = new ExternalDataFile(sideFileOf(path));
      model = modelBytes(decoderGraph(weights, { type: precision, lmHead: opts.lmHead, externalFile: side }), 'decoder');
      side.close();
    } else {
      model = exportDecoder(weights, precision, { lmHead: opts.lmHead });
    }
    writeAll(fd, model);
    return { path, modelBytes: model.length, external: side && { path: side.path, location: side.location, bytes: side.size, tensors: side.tensors } };
  } catch (e) {
    side?.close();
    rmSync(path, { force: true });
    if (side) rmSync(side.path, { force: true });
    throw e;
  } finally {
    closeSync(fd);
  }
}
