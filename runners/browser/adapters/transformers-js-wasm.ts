// transformers.js's web build on its wasm device in the page (the built-in runner browser-transformers-js).
import { transformersJsInPage } from './transformers-js';

export default transformersJsInPage('wasm');
