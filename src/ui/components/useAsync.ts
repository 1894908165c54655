import { useEffect, useState } from 'preact/hooks';

export type AsyncState<T> = { status: 'loading' } | { status: 'done'; value: T } | { status: 'error'; error: Error };

/** Runs `load` once per change of `deps` and tracks its outcome. */
export function useAsync<T>(load: () => Promise<T>, deps: unknown[]): AsyncState<T> {
  const [state, setState] = useState<AsyncState<T>>({ status: 'loading' });
  useEffect(() => {
    let live = true;
    load().then(
      (value) => live && setState({ status: 'done', value }),
      (error: unknown) => live && setState({ status: 'error', error: error instanceof Error ? error : new Error(String(error)) }),
    );
    return () => {
      live = false;
    };
    // The caller names the deps: `load` is a new closure on every render, so it cannot be one.
  }, deps);
  return state;
}
