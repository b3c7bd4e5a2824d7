// Node entry of the dcs package: the module is instantiated on import; init() is a no-op so
// code shared with the browser can call it.
export * from '../pkg/node/dcs_wasm.js';
export { OfflineQueue } from './queue.js';

/** Nothing to do in Node (the module loads synchronously); kept for code shared with browsers. */
export async function init() {}
