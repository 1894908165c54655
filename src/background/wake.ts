/**
 * Listeners that wake the background only for what concerns Kontor, so ordinary browsing
 * starts no Kontor code at all.
 *
 * A stopped service worker receives the event that woke it only if its first turn adds a
 * listener for that event. So each listener here is added in the first turn for every URL,
 * and narrowed as soon as Kontor's state is read. The browser wakes the worker for the
 * registration it saw last. Measured in Chromium 156 (docs/blocking.md): once narrowed,
 * navigations elsewhere leave a stopped worker stopped, and a matching one wakes it and
 * arrives. When no URL concerns Kontor, the listener is removed.
 */

/** The URL conditions of `webNavigation` event filters that Kontor uses. */
export interface UrlFilter {
  hostEquals?: string;
  hostSuffix?: string;
  queryContains?: string;
}

interface FilterableEvent<L> {
  addListener(listener: L, filter?: { url: UrlFilter[] }): void;
  removeListener(listener: L): void;
  hasListener(listener: L): boolean;
}

export interface NarrowableListener {
  /** `'all'`: every event; a list: events whose URL matches one entry; `[]`: none. */
  narrow(filters: 'all' | UrlFilter[]): void;
}

/** Adds `listener` for every event now (call in the first turn) and narrows it later. */
export function narrowable<L>(event: FilterableEvent<L>, listener: L): NarrowableListener {
  event.addListener(listener);
  let current = JSON.stringify('all');
  return {
    narrow(filters) {
      const key = JSON.stringify(filters);
      if (key === current) return;
      current = key;
      if (event.hasListener(listener)) event.removeListener(listener);
      if (filters === 'all') event.addListener(listener);
      else if (filters.length > 0) event.addListener(listener, { url: filters });
    },
  };
}

/** Filters for a registrable domain and its subdomains, label-wise (not `evilglobex.example`). */
export function domainFilters(domains: Iterable<string>): UrlFilter[] {
  return [...new Set(domains)].sort().flatMap((d) => [{ hostEquals: d }, { hostSuffix: `.${d}` }]);
}
