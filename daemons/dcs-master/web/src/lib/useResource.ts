// Loads something from the API for a view: loading, then data or an error; optionally
// refreshes every `intervalMs` (keeping the data on screen meanwhile) and offers reload().

import { useCallback, useEffect, useRef, useState } from 'react';

export type Resource<T> =
  | { status: 'loading'; data: undefined; error: undefined }
  | { status: 'error'; data: undefined; error: Error }
  | { status: 'ok'; data: T; error: undefined }
  /** Data from an earlier load, and the error of the latest refresh. */
  | { status: 'stale'; data: T; error: Error };

export interface ResourceHandle<T> {
  state: Resource<T>;
  /** Loads again now (Retry). */
  reload: () => void;
  /** When the data on screen was loaded (ms). */
  loadedAt: number | null;
}

export function useResource<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: readonly unknown[],
  options: { intervalMs?: number } = {},
): ResourceHandle<T> {
  const [state, setState] = useState<Resource<T>>({ status: 'loading', data: undefined, error: undefined });
  const [loadedAt, setLoadedAt] = useState<number | null>(null);
  const [generation, setGeneration] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  // A change of inputs starts from the loading state again.
  useEffect(() => {
    setState({ status: 'loading', data: undefined, error: undefined });
    setLoadedAt(null);
  }, deps);

  useEffect(() => {
    let controller: AbortController | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;

    const run = async () => {
      controller = new AbortController();
      try {
        const data = await loadRef.current(controller.signal);
        if (stopped) return;
        setState({ status: 'ok', data, error: undefined });
        setLoadedAt(Date.now());
      } catch (e) {
        if (stopped || (e instanceof DOMException && e.name === 'AbortError')) return;
        const error = e instanceof Error ? e : new Error(String(e));
        setState((prev) =>
          prev.status === 'ok' || prev.status === 'stale'
            ? { status: 'stale', data: prev.data, error }
            : { status: 'error', data: undefined, error },
        );
      }
      if (!stopped && options.intervalMs) timer = setTimeout(run, options.intervalMs);
    };
    void run();
    return () => {
      stopped = true;
      controller?.abort();
      clearTimeout(timer);
    };
  }, [...deps, generation, options.intervalMs]);

  const reload = useCallback(() => {
    setState((prev) => (prev.status === 'error' ? { status: 'loading', data: undefined, error: undefined } : prev));
    setGeneration((g) => g + 1);
  }, []);

  return { state, reload, loadedAt };
}
