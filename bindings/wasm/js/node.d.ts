export * from '../pkg/node/dcs_wasm.js';
export { OfflineQueue, QueueEntry, QueueableEvent } from './queue.js';
/** Nothing to do in Node; kept for code shared with browsers. */
export declare function init(): Promise<void>;
