// How the till reacts to a failed call: the daemon is unreachable (queue and retry), the
// daemon refused this record for good (quarantine it), or the till's credentials are refused.

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
      // A forged or altered record is refused for good; a refused token refuses everything.
      return /signature|mac\b|tamper|verif/i.test(err.rawMessage) ? 'refused' : 'auth';
    default:
      return 'offline'; // Unavailable, DeadlineExceeded, Unknown (a failed fetch), Canceled, ...
  }
}

export function message(e: unknown): string {
  return e instanceof ConnectError ? `${Code[e.code]}: ${e.rawMessage}` : e instanceof Error ? e.message : String(e);
}
