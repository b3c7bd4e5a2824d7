// The enrollment code handed over in the URL fragment, `#enroll=<code>` (never sent to a server).

export function fromFragment(hash: string): string | undefined {
  const m = /(?:^#|&)enroll=([^&]+)/.exec(hash);
  return m ? decodeURIComponent(m[1]) : undefined;
}
