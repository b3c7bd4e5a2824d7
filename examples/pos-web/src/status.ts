// What the sync indicator shows, as one observable value.

export interface SyncView {
  online: boolean;
  outboxDepth: number;
  quarantined: number;
  lastSyncMs: number | undefined;   // the last time an outbox record reached the daemon
  mergedUpdates: number;            // catalog/price/stock entries changed on the last refresh
  rejected: Array<{ id: string; reason: string }>; // refused by the daemon/region, or quarantined here
  problem: string | undefined;      // a message for the cashier (e.g. the token is refused)
}

type Listener = (v: SyncView) => void;

let view: SyncView = { online: false, outboxDepth: 0, quarantined: 0, lastSyncMs: undefined, mergedUpdates: 0, rejected: [], problem: undefined };
const listeners = new Set<Listener>();

export const status = {
  get: (): SyncView => view,
  set(patch: Partial<SyncView>): void {
    view = { ...view, ...patch };
    for (const l of listeners) l(view);
  },
  subscribe(l: Listener): () => void {
    listeners.add(l);
    l(view);
    return () => listeners.delete(l);
  },
};
