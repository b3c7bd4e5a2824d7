// What every screen gets: the till, its sync, the cart, and how to go to another screen.

import type { Pos } from '../api.js';
import type { CartModel } from '../cart.js';
import type { ReceiptRecord, TillDb } from '../db.js';
import type { Sync } from '../sync.js';
import type { TillApp } from '../till.js';

export type Screen =
  | { name: 'signin' }
  | { name: 'open' }
  | { name: 'sell' }
  | { name: 'pay' }
  | { name: 'receipt'; receipt: ReceiptRecord }
  | { name: 'refund'; receiptId?: string }
  | { name: 'close' }
  | { name: 'summary' };

export interface Ctx {
  app: TillApp;
  sync: Sync;
  pos: Pos;
  db: TillDb;
  cart: CartModel;
  root: HTMLElement;
  go(screen: Screen): void;
}
