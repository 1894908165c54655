import { describe, expect, it } from 'vitest';
import { domainFilters, narrowable, type UrlFilter } from '../../src/background/wake';

/** A browser event that records its registrations the way the browser keeps them. */
function fakeEvent() {
  const listeners = new Map<unknown, { url: UrlFilter[] } | undefined>();
  return {
    listeners,
    addListener(l: unknown, filter?: { url: UrlFilter[] }) {
      listeners.set(l, filter);
    },
    removeListener(l: unknown) {
      listeners.delete(l);
    },
    hasListener(l: unknown) {
      return listeners.has(l);
    },
  };
}

describe('narrowable listeners', () => {
  it('listen to every event first, then only to the filtered URLs, and to none when the list is empty', () => {
    const event = fakeEvent();
    const listener = () => undefined;
    const wake = narrowable(event, listener);
    expect(event.listeners.get(listener)).toBeUndefined();
    expect(event.hasListener(listener)).toBe(true);
    wake.narrow(domainFilters(['globex.example']));
    expect(event.listeners.get(listener)).toEqual({ url: [{ hostEquals: 'globex.example' }, { hostSuffix: '.globex.example' }] });
    wake.narrow([]);
    expect(event.hasListener(listener)).toBe(false);
    wake.narrow('all');
    expect(event.hasListener(listener)).toBe(true);
    expect(event.listeners.get(listener)).toBeUndefined();
  });

  it('does not register again when the filter is unchanged', () => {
    const event = fakeEvent();
    let adds = 0;
    const counting = {
      ...event,
      addListener: (l: unknown, f?: { url: UrlFilter[] }) => {
        adds++;
        event.addListener(l, f);
      },
    };
    const wake = narrowable(counting, () => undefined);
    wake.narrow(domainFilters(['a.example']));
    wake.narrow(domainFilters(['a.example']));
    expect(adds).toBe(2);
  });

  it('match a domain and its subdomains label-wise, once per domain', () => {
    expect(domainFilters(['xing.com', 'globex.example', 'xing.com'])).toEqual([
      { hostEquals: 'globex.example' },
      { hostSuffix: '.globex.example' },
      { hostEquals: 'xing.com' },
      { hostSuffix: '.xing.com' },
    ]);
  });
});
