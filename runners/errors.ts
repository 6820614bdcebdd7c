/**
 * Typed errors. Each one names the problem, so that bad input fails loudly and early,
 * before any backend is called, with the same error class whichever runner got it.
 */

export class Gpt2SpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A tensor whose shape or dtype is not the one the call needs. */
export class ShapeError extends Gpt2SpecError {}

/** A token id outside 0..V-1. */
export class TokenIdError extends Gpt2SpecError {}

/** More positions than the position embedding covers (pastLength + T > n_positions). */
export class SequenceTooLongError extends Gpt2SpecError {}

/** A KV cache whose layer count or shapes do not match the model and the input. */
export class CacheShapeError extends Gpt2SpecError {}

/** A layer index or LayerNorm site the model does not have. */
export class LayerIndexError extends Gpt2SpecError {}

/** A file that is not a valid safetensors file. */
export class SafetensorsFormatError extends Gpt2SpecError {}

/** A checkpoint that does not describe a GPT-2: missing, extra or mis-shaped tensors, a bad config, an unknown activation. */
export class CheckpointError extends Gpt2SpecError {}

/** A runner method called before load(), or after dispose(). */
export class RunnerStateError extends Gpt2SpecError {}

/** A failure inside a backend, wrapped with the component that was running. */
export class BackendError extends Gpt2SpecError {
  constructor(
    readonly component: string,
    override readonly cause: unknown,
  ) {
    super(`${component}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/** A problem with the fixtures: a missing file, a bad manifest, a checksum that does not match. */
export class FixtureError extends Gpt2SpecError {}

/** A tokenizer given bad input, e.g. an id outside 0..50256 to decode. */
export class TokenizerError extends Gpt2SpecError {}

/** A contract method a runner cannot implement (e.g. a component of an exported decoder it only runs whole). */
export class NotExposedError extends Gpt2SpecError {}

/** A runner in another process that exited, was killed, or broke the protocol during a call. */
export class RunnerCrashError extends Gpt2SpecError {}

/** A runner in another process that crashed too often, or whose method timed out, so its calls now fail at once. */
export class RunnerBrokenError extends Gpt2SpecError {}

/** A runner process whose resident memory went past its limit, and was killed. */
export class MemoryLimitError extends Gpt2SpecError {}
