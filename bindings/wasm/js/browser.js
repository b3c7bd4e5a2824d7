// Browser entry of the dcs package: call `await init()` once before using the classes.
export * from '../pkg/web/dcs_wasm.js';
export { default as init, initSync } from '../pkg/web/dcs_wasm.js';
export { OfflineQueue } from './queue.js';
