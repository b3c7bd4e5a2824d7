// The sync indicator, always on screen: online/offline, outbox depth, last sync, merged
// updates and the events refused (by the region, or quarantined on this till).

import { status, type SyncView } from '../status.js';
import { h, mount } from './dom.js';

export function syncBar(el: HTMLElement): void {
  status.subscribe((v: SyncView) => {
    el.className = v.online ? 'sync online' : 'sync offline';
    el.dataset.online = String(v.online);
    mount(el,
      h('span', { id: 'sync-state', class: 'badge' }, v.online ? 'Online' : 'Offline'),
      h('span', {}, 'Outbox ', h('b', { id: 'outbox-depth' }, v.outboxDepth)),
      h('span', {}, 'Last sync ', h('b', { id: 'last-sync' }, v.lastSyncMs ? new Date(v.lastSyncMs).toLocaleTimeString() : 'never')),
      h('span', {}, 'Merged updates ', h('b', { id: 'merged' }, v.mergedUpdates)),
      h('span', { class: v.rejected.length ? 'warn' : '' }, 'Rejected ', h('b', { id: 'rejected-count' }, v.rejected.length)),
      v.problem ? h('span', { class: 'warn', role: 'alert' }, v.problem) : null,
      v.rejected.length ? h('details', { id: 'rejected' }, h('summary', {}, v.quarantined ? `${v.quarantined} record(s) refused and quarantined: kept on this till, never resent; the rest sync on` : 'Refused events'),
        h('ul', {}, ...v.rejected.map((r) => h('li', {}, `${r.id}: ${r.reason}`)))) : null);
  });
}
