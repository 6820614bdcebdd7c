// tfjs on WebGL in the page (the built-in runner browser-tfjs-webgl).
import '@tensorflow/tfjs-backend-webgl';
import { tfjsInPage } from './tfjs';

export default tfjsInPage('webgl');
