// transformers.js's web build on its WebGPU device in the page (the built-in runner browser-transformers-js-webgpu).
import { transformersJsInPage } from './transformers-js';

export default transformersJsInPage('webgpu');
