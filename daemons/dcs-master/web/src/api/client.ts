// The one fetch client of the admin API: typed calls, relative URLs (the dashboard is served
// from the master's own origin), `Authorization: Bearer <token>` on every call, and an
// ApiError carrying the HTTP status and the server's own message on any failure.

import type {
  AuditResponse,
  KeyChangeResponse,
  KeysResponse,
  ListSkuResponse,
  LoginResponse,
  MeResponse,
  PricesResponse,
  RaftResponse,
  RegionHistoryResponse,
  RegionsResponse,
  RejectedResponse,
  SalesQuery,
  SalesResponse,
  PriceArrival,
  SetPriceResponse,
  StockResponse,
  StoresResponse,
  SummariesResponse,
} from './types';

/** A failed call. `status` is the HTTP status, or 0 when the master could not be reached. */
export class ApiError extends Error {
  readonly status: number;
  readonly path: string;

  constructor(status: number, message: string, path: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.path = path;
  }

  get unauthorized(): boolean {
    return this.status === 401;
  }

  /** The caller's grants do not cover the call. */
  get forbidden(): boolean {
    return this.status === 403;
  }
}

export interface ClientOptions {
  /** The token to send; read on every call. */
  getToken: () => string | null;
  /** Called on any 401 answer, before the ApiError is thrown. */
  onUnauthorized?: () => void;
  /** The fetch to use; defaults to the global one, looked up at call time. */
  fetch?: typeof fetch;
}

export interface CallOptions {
  signal?: AbortSignal;
}

/**
 * Encodes a query value for the master's `/prices` route, which reads `sku=…` pairs without
 * percent-decoding them: characters that are legal in a query as they are stay as they are
 * (so such SKUs reach it intact), and only the ones that must be escaped are.
 */
export function encodeQueryValue(value: string): string {
  return encodeURIComponent(value).replace(/%(2F|3A|40|21|24|27|28|29|2A|2C|3B|3D|3F)/gi, (m) =>
    decodeURIComponent(m),
  );
}

function query(params: Record<string, string | number | undefined>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === '') continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

async function errorMessage(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const body: unknown = JSON.parse(text);
    if (body && typeof body === 'object' && typeof (body as { error?: unknown }).error === 'string') {
      return (body as { error: string }).error;
    }
  } catch {
    // not JSON: fall through
  }
  const snippet = text.trim().slice(0, 200);
  return snippet ? `HTTP ${res.status}: ${snippet}` : `HTTP ${res.status} ${res.statusText}`.trim();
}

export function createClient(options: ClientOptions) {
  async function request<T>(method: 'GET' | 'PUT' | 'POST', path: string, body?: unknown, call?: CallOptions): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    const token = options.getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const doFetch = options.fetch ?? globalThis.fetch;
    let res: Response;
    try {
      res = await doFetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: call?.signal,
        credentials: 'same-origin',
        cache: 'no-store',
      });
    } catch (e) {
      if (e instanceof DOMException && e.name === 'AbortError') throw e;
      const why = e instanceof Error ? e.message : String(e);
      throw new ApiError(0, `Could not reach the master (${why})`, path);
    }
    if (res.status === 401) {
      const message = await errorMessage(res);
      options.onUnauthorized?.();
      throw new ApiError(401, message, path);
    }
    if (!res.ok) throw new ApiError(res.status, await errorMessage(res), path);
    try {
      return (await res.json()) as T;
    } catch {
      throw new ApiError(res.status, `The master's answer to ${path} was not JSON`, path);
    }
  }

  return {
    /** Signs in; a 401 is a wrong name or password (the client's own token is not sent). */
    login: (name: string, password: string, call?: CallOptions) =>
      request<LoginResponse>('POST', '/api/v1/login', { name, password }, call),

    /** Ends the session of the token sent. */
    logout: (call?: CallOptions) => request<{ signed_out: boolean }>('POST', '/api/v1/logout', undefined, call),

    me: (call?: CallOptions) => request<MeResponse>('GET', '/api/v1/me', undefined, call),

    audit: (call?: CallOptions) => request<AuditResponse>('GET', '/api/v1/audit', undefined, call),

    regions: (call?: CallOptions) => request<RegionsResponse>('GET', '/api/v1/regions', undefined, call),

    /** Lag and health samples at or after `sinceMs` (Unix ms), oldest first. */
    regionHistory: (sinceMs?: number, call?: CallOptions) =>
      request<RegionHistoryResponse>('GET', `/api/v1/regions/history${query({ since_ms: sinceMs })}`, undefined, call),

    /** Each region's Raft cluster as its leader last reported it. */
    raft: (call?: CallOptions) => request<RaftResponse>('GET', '/api/v1/regions/raft', undefined, call),

    summaries: (after = 0, limit = 1, call?: CallOptions) =>
      request<SummariesResponse>('GET', `/api/v1/summaries${query({ after, limit })}`, undefined, call),

    sales: (q: SalesQuery = {}, call?: CallOptions) =>
      request<SalesResponse>('GET', `/api/v1/sales${query({ ...q })}`, undefined, call),

    stock: (tenant?: string, call?: CallOptions) =>
      request<StockResponse>('GET', `/api/v1/stock${query({ tenant })}`, undefined, call),

    stores: (tenant?: string, call?: CallOptions) =>
      request<StoresResponse>('GET', `/api/v1/stores${query({ tenant })}`, undefined, call),

    rejected: (call?: CallOptions) => request<RejectedResponse>('GET', '/api/v1/rejected', undefined, call),

    prices: (skus: string[], call?: CallOptions) => {
      const q = skus.map((s) => `sku=${encodeQueryValue(s)}`).join('&');
      return request<PricesResponse>('GET', `/api/v1/prices${q ? `?${q}` : ''}`, undefined, call);
    },

    /** Sets a central price; `currency`, when given, must be the master's (else a 400). */
    setPrice: (sku: string, priceMinor: number, currency?: string, call?: CallOptions) =>
      request<SetPriceResponse>(
        'PUT',
        `/api/v1/prices/${encodeURIComponent(sku)}`,
        currency === undefined ? { price_minor: priceMinor } : { price_minor: priceMinor, currency },
        call,
      ),

    priceArrival: (sku: string, call?: CallOptions) =>
      request<PriceArrival>('GET', `/api/v1/prices/${encodeURIComponent(sku)}/arrival`, undefined, call),

    /** A tenant's key registry (a grant on the tenant). */
    keys: (tenant: string, call?: CallOptions) =>
      request<KeysResponse>('GET', `/api/v1/keys${query({ tenant })}`, undefined, call),

    /** Revokes an agent from now on (admin on the tenant); `reason` is 1–200 bytes. */
    revokeKey: (tenant: string, agent: string, reason: string, call?: CallOptions) =>
      request<KeyChangeResponse>(
        'POST',
        `/api/v1/keys/${encodeURIComponent(tenant)}/${encodeURIComponent(agent)}/revoke`,
        { reason },
        call,
      ),

    listInCatalog: (sku: string, call?: CallOptions) =>
      request<ListSkuResponse>('PUT', `/api/v1/catalog/${encodeURIComponent(sku)}`, undefined, call),
  };
}

export type ApiClient = ReturnType<typeof createClient>;
