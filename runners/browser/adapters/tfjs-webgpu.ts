// tfjs on WebGPU in the page (the built-in runner browser-tfjs-webgpu).
import '@tensorflow/tfjs-backend-webgpu';
import { tfjsInPage } from './tfjs';

export default tfjsInPage('webgpu');
