// The onnx runner's graphs on onnxruntime-web's WebGPU execution provider (the built-in runner browser-onnx-webgpu).
import { onnxInPage } from './onnx';

export default onnxInPage('webgpu');
