// The onnx runner's graphs on onnxruntime-web's wasm execution provider (the built-in runner browser-onnx-wasm).
import { onnxInPage } from './onnx';

export default onnxInPage('wasm');
