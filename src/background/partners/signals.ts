/**
 * Reads public signals of the page in a tab, on the employee's request (popup open):
 * `<link rel="kontor">`, schema.org Organization JSON-LD (url, sameAs), rel=me links and a
 * profile page's company-website link. Runs as a one-off function in the page's isolated
 * world through scripting.executeScript; it only reads.
 */
export interface PageSignals {
  kontorLink: string | null;
  organizations: { name?: string; url?: string; sameAs: string[] }[];
  relMe: string[];
  website: string | null;
}

/** Serialised into the page by executeScript: must be self-contained. */
export function readPageSignals(): PageSignals {
  const strings = (value: unknown): string[] =>
    typeof value === 'string'
      ? [value.slice(0, 2048)]
      : Array.isArray(value)
        ? value
            .filter((v): v is string => typeof v === 'string')
            .slice(0, 20)
            .map((v) => v.slice(0, 2048))
        : [];
  const organizations: PageSignals['organizations'] = [];
  const visit = (node: unknown, depth: number): void => {
    if (organizations.length >= 10 || depth > 4 || !node || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const n of node) visit(n, depth + 1);
      return;
    }
    const o = node as Record<string, unknown>;
    if (strings(o['@type']).some((t) => /Organization|Corporation/.test(t))) {
      const [name] = strings(o.name);
      const [url] = strings(o.url);
      organizations.push({
        ...(name ? { name: name.slice(0, 300) } : {}),
        ...(url ? { url: url.slice(0, 300) } : {}),
        sameAs: strings(o.sameAs),
      });
    }
    if (o['@graph']) visit(o['@graph'], depth + 1);
  };
  for (const script of document.scripts) {
    if (script.type !== 'application/ld+json' || (script.textContent ?? '').length > 100_000) continue;
    try {
      visit(JSON.parse(script.textContent ?? ''), 0);
    } catch {
      // Broken JSON-LD is the page's problem.
    }
  }
  const hrefs = (selector: string) =>
    [...document.querySelectorAll<HTMLAnchorElement | HTMLLinkElement>(selector)]
      .map((a) => a.href)
      .filter(Boolean)
      .slice(0, 20);
  // LinkedIn's public company page marks its website link with this tracking name; XING's with a test id.
  const website =
    document.querySelector<HTMLAnchorElement>('a[data-tracking-control-name="about_website"], a[data-testid="company-website"]')?.href ||
    null;
  const kontor = document.querySelector<HTMLLinkElement>('link[rel~="kontor"][href]');
  return { kontorLink: kontor ? kontor.href : null, organizations, relMe: hrefs('a[rel~="me"][href], link[rel~="me"][href]'), website };
}
