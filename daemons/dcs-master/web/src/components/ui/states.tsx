import type { ReactNode } from 'react';
import { ApiError } from '../../api/client';
import { Button } from './button';

export function LoadingState({ what }: { what: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden />
      Loading {what}…
    </div>
  );
}

/** Says what would appear here and why there is nothing. */
export function EmptyState({ title, children, action }: { title: string; children: ReactNode; action?: ReactNode }) {
  return (
    <div className="state state-empty" role="status">
      <p className="state-title">{title}</p>
      <p className="state-text">{children}</p>
      {action}
    </div>
  );
}

export function describeError(error: Error): string {
  if (error instanceof ApiError) {
    if (error.status === 0) return error.message;
    const kind =
      error.status === 503
        ? 'The master could not answer (503)'
        : error.status === 400
          ? 'The master refused the request (400)'
          : error.status === 403
            ? 'Not allowed for your account (403)'
            : `The master answered ${error.status}`;
    return `${kind}: ${error.message}`;
  }
  return error.message;
}

/** Says what failed and offers Retry. */
export function ErrorState({ what, error, onRetry }: { what: string; error: Error; onRetry: () => void }) {
  return (
    <div className="state state-error" role="alert">
      <p className="state-title">Could not load {what}</p>
      <p className="state-text">{describeError(error)}</p>
      <Button variant="outline" onClick={onRetry}>
        Retry
      </Button>
    </div>
  );
}

/** A refresh failed while older data stays on screen. */
export function StaleBanner({ error, onRetry, loadedAt }: { error: Error; onRetry: () => void; loadedAt: number | null }) {
  return (
    <div className="banner banner-warn" role="alert">
      <span>
        Refresh failed: {describeError(error)}
        {loadedAt !== null && ` Showing data loaded at ${new Date(loadedAt).toLocaleTimeString()}.`}
      </span>
      <Button variant="outline" size="sm" onClick={onRetry}>
        Retry
      </Button>
    </div>
  );
}

/**
 * The caller's grants do not cover this: not an error to retry, but what the account may
 * see. `why` says what it would need; `error` is the master's own 403, when it answered one.
 */
export function NoAccessState({ what, why, error }: { what: string; why: ReactNode; error?: Error }) {
  return (
    <div className="state state-noaccess" role="status" data-testid="no-access">
      <p className="state-title">
        <span aria-hidden>🔒 </span>You don't have access to {what}
      </p>
      <p className="state-text">{why}</p>
      {error && <p className="state-text small">The master said: {error.message}</p>}
    </div>
  );
}

/** Whether an error is the master's 403. */
export function isForbidden(error: unknown): error is ApiError {
  return error instanceof ApiError && error.status === 403;
}
