// How the till reacts to a failed call: the daemon is unreachable (queue and retry), the
// daemon refused this record for good (quarantine it), or the daemon refuses the till itself.

import { Code, ConnectError } from '@connectrpc/connect';

export type Failure = 'offline' | 'refused' | 'auth';

export function classify(e: unknown): Failure {
  const err = ConnectError.from(e);
  switch (err.code) {
    case Code.InvalidArgument:
    case Code.FailedPrecondition:
    case Code.AlreadyExists:
    case Code.OutOfRange:
      return 'refused';
    case Code.Unauthenticated:
    case Code.PermissionDenied:
      // The till's token or key is refused, or (sync.ts tells them apart with the record's
      // own MAC and signature) the record was edited in storage.
      return 'auth';
    default:
      return 'offline'; // Unavailable, DeadlineExceeded, Unknown (a failed fetch), Canceled, ...
  }
}

export function message(e: unknown): string {
  return e instanceof ConnectError ? `${Code[e.code]}: ${e.rawMessage}` : e instanceof Error ? e.message : String(e);
}
