/**
 * The spec's jest environment: jest's own node environment, on a context whose global object is an ordinary
 * one. jest 30 contextifies a Proxy as each test file's global, so every global name a module reads (Math,
 * Number, Float64Array) goes through V8's interceptor and the Proxy: a loop over a tensor that calls
 * Math.exp or Number.isFinite runs tens of times slower than in Node, and the spec spends most of its time
 * there. vm.constants.DONT_CONTEXTIFY (Node 20.18+) makes a context without the interceptor; jest installs
 * the same globals on it. What is lost is the Proxy's record of globals a test file sets after set-up, kept to
 * delete them at teardown; each file's context is dropped after it all the same.
 */
import vm from 'node:vm';
import type NodeEnvironmentType from 'jest-environment-node';

// Plain JavaScript, shared with the sequencer, which jest loads untransformed.
const { jestPart } = require('./jest-parts') as { jestPart: (name: string) => unknown };
const NodeEnvironment = (jestPart('jest-environment-node') as { default: typeof NodeEnvironmentType }).default;
type Args = ConstructorParameters<typeof NodeEnvironmentType>;
// Undefined on a Node 20 older than 20.18: jest's own context then, slower, the same results.
const PLAIN: typeof vm.constants.DONT_CONTEXTIFY | undefined = vm.constants?.DONT_CONTEXTIFY;

export default class PlainContextEnvironment extends NodeEnvironment {
  constructor(config: Args[0], context: Args[1]) {
    const createContext = vm.createContext;
    // NodeEnvironment makes its context with vm.createContext(proxy); for its constructor alone, this one instead.
    if (PLAIN !== undefined) vm.createContext = (() => createContext(PLAIN)) as typeof vm.createContext;
    try {
      super(config, context);
    } finally {
      vm.createContext = createContext;
    }
  }
}
