/**
 * Partner detector (content script, isolated world, document_idle). Injected only on
 * partner domains and on LinkedIn/XING. It never changes the page's DOM, exposes nothing
 * to the page and posts nothing the page could observe; it holds no keys and no message
 * text. It tells the background which URL loaded; on LinkedIn and XING it also reads public
 * signals: schema.org Organization JSON-LD, rel=me links and the company-website link.
 */
import { sendFromContent } from '../shared/browser-lite';

const MAX_JSONLD = 100_000;

function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value.slice(0, 2048)];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string').slice(0, 20).map((v) => v.slice(0, 2048)) : [];
}

function organizations(): { name?: string; url?: string; sameAs: string[] }[] {
  const found: { name?: string; url?: string; sameAs: string[] }[] = [];
  const visit = (node: unknown, depth: number): void => {
    if (found.length >= 10 || depth > 4 || !node || typeof node !== 'object') return;
    if (Array.isArray(node)) return node.forEach((n) => visit(n, depth + 1));
    const o = node as Record<string, unknown>;
    const type = strings(o['@type']);
    if (type.some((t) => /Organization|Corporation/.test(t))) {
      const [name] = strings(o.name);
      const [url] = strings(o.url);
      found.push({ ...(name ? { name: name.slice(0, 300) } : {}), ...(url ? { url: url.slice(0, 300) } : {}), sameAs: strings(o.sameAs) });
    }
    if (o['@graph']) visit(o['@graph'], depth + 1);
  };
  for (const script of document.querySelectorAll('script[type="application/ld+json"]')) {
    const text = script.textContent ?? '';
    if (text.length > MAX_JSONLD) continue;
    try {
      visit(JSON.parse(text), 0);
    } catch {
      // Broken JSON-LD is the page's problem, not ours.
    }
  }
  return found;
}

function hrefs(selector: string): string[] {
  return [...document.querySelectorAll<HTMLAnchorElement | HTMLLinkElement>(selector)].map((a) => a.href).filter(Boolean).slice(0, 20);
}

function readSignals() {
  // LinkedIn's public company page marks its website link with this tracking name; XING's
  // company pages with a test id. Both are read, never clicked or changed.
  const [website] = hrefs('a[data-tracking-control-name="about_website"], a[data-testid="company-website"]');
  return { organizations: organizations(), relMe: hrefs('a[rel~="me"][href], link[rel~="me"][href]'), website: website ?? null };
}

/** Profile hosts, where public signals are read (partner domains match by URL alone). */
const onProfileHost = /(^|\.)(linkedin|xing)\.com$/.test(location.hostname);

function detect(): void {
  // One message per page: the URL, plus signals on a profile host.
  void sendFromContent('page.detect', { url: location.href, ...(onProfileHost ? { signals: readSignals() } : {}) }).catch(() => undefined);
}

if (location.protocol === 'http:' || location.protocol === 'https:') {
  detect();
  // The background asks again after in-page navigation (single-page apps).
  const scope = globalThis as unknown as { browser?: typeof chrome; chrome?: typeof chrome };
  (scope.browser ?? scope.chrome)?.runtime.onMessage.addListener((message: unknown) => {
    const m = message as { kontor?: unknown; kind?: unknown } | null;
    if (m?.kontor === 1 && m.kind === 'detect.rescan') detect();
  });
}
