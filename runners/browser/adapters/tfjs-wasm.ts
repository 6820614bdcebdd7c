// tfjs on WebAssembly in the page (the built-in runner browser-tfjs-wasm); its .wasm files come from the
// browser host, which serves installed packages' files under pkg/.
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { tfjsInPage } from './tfjs';

setWasmPaths('pkg/@tensorflow/tfjs-backend-wasm/dist/');
export default tfjsInPage('wasm');
