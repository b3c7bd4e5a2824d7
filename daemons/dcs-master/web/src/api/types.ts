// The shapes of dcs-master's admin API (/api/v1/...), as its handlers write them.

/** The failure detector's verdict on a region. */
export type Health = 'alive' | 'suspect' | 'failed';

export const HEALTHS: readonly Health[] = ['alive', 'suspect', 'failed'];

/** One region of the registry: `GET /api/v1/regions`. Times are Unix milliseconds. */
export interface Region {
  region: number;
  health: Health;
  last_seen_ms: number | null;
  last_successful_sync_ms: number | null;
  lag: number;
  protocol: string | null;
}

export interface RegionsResponse {
  regions: Region[];
}

/**
 * One sample of a region's lag (outbox items it has not had acknowledged) and health:
 * `GET /api/v1/regions/history?since_ms=T`, oldest first. The master takes one for every
 * region every `registry.sample_every_s` (all at the same `at_ms`) and keeps
 * `registry.keep_hours`; one answer holds at most `HISTORY_MAX_ROWS` samples.
 */
export interface RegionSample {
  region: number;
  at_ms: number;
  lag: number;
  health: Health;
}

/** A region's forwarding backlog towards one sink at one report (`sinks` of the history). */
export interface SinkSample {
  region: number;
  sink: string;
  at_ms: number;
  backlog: number;
}

export interface RegionHistoryResponse {
  samples: RegionSample[];
  /** Absent from a master older than the backlog history. */
  sinks?: SinkSample[];
}

/** One member of a region's Raft cluster as its leader last reported it. */
export interface RaftMember {
  id: number;
  addr: string;
  voter: boolean;
  /** The last log index the leader knows it holds; null: not heard from this term. */
  matched: number | null;
  /** `committed - matched`; null with `matched`. */
  lag: number | null;
}

/**
 * A region's Raft cluster: `GET /api/v1/regions/raft`, the latest report of each region's
 * leader (it reports every few seconds). Times are Unix ms.
 */
export interface RaftReport {
  region: number;
  /** When the master received it. */
  received_ms: number;
  /** The leader's clock when it made it. */
  reported_ms: number;
  term: number;
  leader: number;
  committed: number;
  applied: number;
  version: string;
  members: RaftMember[];
  /** Each sink the leader forwards to (PostgreSQL, Kafka) and how far behind it is. */
  sinks: SinkBacklog[];
}

/** One forwarding sink of a region: accepted events not yet in it, and its last error. */
export interface SinkBacklog {
  sink: string;
  backlog: number;
  problem: string | null;
}

export interface RaftResponse {
  regions: RaftReport[];
}

/** The most samples one answer of `/api/v1/regions/history` holds (the master's MAX_ROWS). */
export const HISTORY_MAX_ROWS = 10_000;

/** `GET /api/v1/summaries?after=ROWID&limit=N`: the count held and one page of ids. */
export interface SummaryId {
  rowid: number;
  event_id: string;
  region: number;
}

export interface SummariesResponse {
  count: number;
  page: SummaryId[];
}

/**
 * One row of the hourly sales aggregate: `GET /api/v1/sales`. `hour` is Unix ms / 3,600,000;
 * `amount_minor` is an integer in the currency's minor units (cents for EUR).
 */
export interface SalesRow {
  tenant: string;
  region: number;
  branch: string;
  hour: number;
  event_type: string;
  currency: string;
  count: number;
  amount_minor: number;
}

export interface SalesResponse {
  sales: SalesRow[];
}

/** Query of `GET /api/v1/sales`: hours `from_hour <= hour < to_hour`; all optional. */
export interface SalesQuery {
  tenant?: string;
  from_hour?: number;
  to_hour?: number;
}

/** One stock level: `GET /api/v1/stock`. */
export interface StockRow {
  tenant: string;
  branch: string;
  sku: string;
  on_hand: number;
}

export interface StockResponse {
  stock: StockRow[];
}

/**
 * One store (branch) a region reported events of: `GET /api/v1/stores`. `last_event_ms` is
 * the newest event's time (Unix ms). A branch seen in two regions has a row in each.
 */
export interface StoreRow {
  tenant: string;
  region: number;
  branch: string;
  events: number;
  last_event_ms: number;
}

export interface StoresResponse {
  stores: StoreRow[];
}

/** An event the master refused: `GET /api/v1/rejected` (newest first). */
export interface RejectedEvent {
  region: number;
  position: number;
  event_id: string;
  reason: string;
}

export interface RejectedResponse {
  rejected: RejectedEvent[];
}

/** A central price in minor units, or null where none is set: `GET /api/v1/prices`. */
export interface Price {
  sku: string;
  price_minor: number | null;
}

export interface PricesResponse {
  /** ISO-4217 code of the central prices' minor units (absent from an older master). */
  currency?: string;
  prices: Price[];
}

/** `PUT /api/v1/prices/{sku}` answers the price it set and the change's log position. */
export interface SetPriceResponse {
  sku: string;
  price_minor: number;
  currency?: string;
  position?: number;
}

/** One store in `GET /api/v1/prices/{sku}/arrival`: when the change reached it (null: not yet). */
export interface StoreArrival {
  region: number;
  store: number;
  /** The branch of the last event its region accepted from it (null: none yet). */
  branch: string | null;
  arrived_ms: number | null;
  /** Milliseconds from the change to the first report that showed it at the store. */
  after_ms: number | null;
}

/** The latest central change of a SKU's price and its arrival store by store
 * (`price_minor` null: the master keeps no change of it). */
export interface PriceArrival {
  sku: string;
  price_minor: number | null;
  currency: string;
  position: number | null;
  set_ms: number | null;
  arrived: number;
  stores: StoreArrival[];
}

/** `PUT /api/v1/catalog/{sku}`. */
export interface ListSkuResponse {
  sku: string;
  listed: boolean;
}

/** A role, weakest first: each includes the ones before it. */
export type Role = 'viewer' | 'operator' | 'admin';

/** What an operator may do: `role` on `tenant`, or on every tenant when it is `*`. */
export interface Grant {
  tenant: string;
  role: Role;
}

/** `POST /api/v1/login` `{"name", "password"}` answers a session. */
export interface LoginResponse {
  token: string;
  /** When the session ends by itself (Unix ms). */
  expires_ms: number;
  name: string;
  grants: Grant[];
}

/** `GET /api/v1/me`. */
export interface MeResponse {
  name: string;
  grants: Grant[];
}

/** One entry of the audit log: `GET /api/v1/audit` (newest first). */
export interface AuditEntry {
  seq: number;
  at_ms: number;
  actor: string;
  action: string;
  /** The tenant the change was about, `*` for what every tenant shares. */
  tenant: string;
  /** The change as JSON text. */
  detail: string;
  /** SHA-256 of the entry, chained to the one before (hex). */
  hash: string;
}

/** The master's check of the whole chain. */
export interface AuditVerification {
  entries: number;
  intact: boolean;
  broken_at: number | null;
  reason: string | null;
}

export interface AuditResponse {
  entries: AuditEntry[];
  verification: AuditVerification;
}

/**
 * Every error answer: 400 (bad input, naming the field), 401 (no valid session), 403 (the
 * caller's grants do not cover it, naming the role needed), 503.
 */
export interface ErrorBody {
  error: string;
}

/** One agent (terminal, cashier) of a tenant's key registry, as the master sends it down. */
export interface AgentKeyRow {
  agent: string;
  /** `ed25519` or `ecdsa-p256`; null for an agent revoked without a registered key. */
  algorithm: string | null;
  /** The public key, base64; null as above. */
  public_key: string | null;
  rotations: number;
  revoked: { from_ms: number; reason: string } | null;
  /** The key it signed with before its last rotation, trusted for events made before then. */
  previous?: { algorithm: string; public_key: string; until_ms: number } | null;
  /** The terminal as the store that enrolled it reported it; a report registers no key. */
  enrolled?: EnrolledTerminal | null;
}

/** A terminal a store enrolled itself (its terminals.toml), as the store reported it. */
export interface EnrolledTerminal {
  branch: string;
  algorithm: string;
  /** Base64. */
  public_key: string;
  /** The CRDT replica id of the store that wrote the report. */
  store_replica: number;
}

export interface KeysResponse {
  tenant: string;
  keys: AgentKeyRow[];
}

/** The answer to a registration or revocation: what changed, and its audit position. */
export interface KeyChangeResponse {
  agent: string;
  position: number;
  reason?: string;
  from_ms?: number;
}
