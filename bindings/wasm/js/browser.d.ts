export * from '../pkg/web/dcs_wasm.js';
export { default as init, initSync } from '../pkg/web/dcs_wasm.js';
export { OfflineQueue, QueueEntry, QueueableEvent } from './queue.js';
