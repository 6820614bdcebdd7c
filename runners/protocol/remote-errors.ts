/**
 * Errors that cross the protocol travel by name. A name the contract documents becomes that class
 * again on this side, so that `instanceof TokenIdError` holds for a runner in any language; any other
 * name is kept as it is, on a plain Error.
 */
import * as errors from '../errors';
import { RemoteError } from './child';

const documented = new Map<string, new (message: string) => Error>(
  Object.entries(errors)
    .filter(([name, value]) => typeof value === 'function' && name !== 'BackendError' && (value as { prototype: unknown }).prototype instanceof errors.Gpt2SpecError)
    .map(([name, value]) => [name, value as new (message: string) => Error]),
);

export function typedRemoteError(e: unknown): unknown {
  if (!(e instanceof RemoteError)) return e;
  const Class = documented.get(e.name);
  return Class ? new Class(e.message) : e;
}

export { describeThrown } from './serve-adapter';
