/**
 * gpt2-spec's public API for adapter authors: the contract's types, the typed errors, the tensor
 * helpers, the checkpoint loader, and BaseRunner (input validation and error wrapping for free).
 */
export type { AttentionTrace, DType, Gpt2Config, Gpt2Runner, Gpt2SpecAdapter, Gpt2Tokenizer, Gpt2Weights, KvCache, LayerNormSite, Tensor } from './contract';
export * from './errors';
export { BaseRunner } from './base-runner';
export { cast, float32, float64, ids, int32, shapeSize, tensor, toFloat32, toFloat64 } from './tensor';
export { loadCheckpoint, parseConfig, weightsFromRecord } from './weights/checkpoint';
export { readSafetensors, writeSafetensors } from './weights/safetensors';
export { defineAdapter, type AdapterDefinition, type PartialRunner } from './define-adapter';
