/**
 * runners/realm.ts for a browser page, which has one realm: typed arrays need no bridging there.
 * A bundle for the browser gets this file instead (package.json's "browser" field).
 */
export type TypedArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;
export const bridged = false;
export const mainRequire = (): never => {
  throw new Error('no require inside a browser page');
};
export const toMainRealm = <T extends TypedArray>(a: T): T => a;
export const fromMainRealm = <T extends TypedArray>(a: T): T => a;
