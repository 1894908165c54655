/**
 * A fake `runtime` with the browsers' port semantics, for unit tests of the pages' ports
 * (src/shared/port.ts, src/background/page-ports.ts): a closed port tells only the other end,
 * messages are copies and arrive in a later microtask.
 */
export const EXTENSION = 'kontor-id';
export const ORIGIN = `chrome-extension://${EXTENSION}/`;

type Listener = (...a: unknown[]) => void;

export class FakePort {
  other!: FakePort;
  open = true;
  private messages: Listener[] = [];
  private closes: Listener[] = [];
  onMessage = { addListener: (l: Listener) => this.messages.push(l) };
  onDisconnect = { addListener: (l: Listener) => this.closes.push(l) };
  constructor(
    readonly name: string,
    readonly sender?: { id?: string; url?: string; tab?: { id: number } },
  ) {}
  postMessage(m: unknown): void {
    if (!this.open) throw new Error('Attempting to use a disconnected port object');
    const copy = structuredClone(m);
    queueMicrotask(() => {
      if (this.other.open) for (const l of this.other.messages) l(copy);
    });
  }
  disconnect(): void {
    if (!this.open) return;
    this.open = this.other.open = false;
    queueMicrotask(() => {
      for (const l of this.other.closes) l();
    });
  }
}

/** What the fake runtime saw; a test resets it with `resetRuntime` before loading the modules again. */
export interface RuntimeState {
  /** the sender the browser reports for the next port a page opens */
  sender: FakePort['sender'];
  connects: Listener[];
  /** the background's end of each port opened */
  ends: FakePort[];
  /** runtime.onMessage listeners of the page */
  messages: Listener[];
  /** extension API calls the background made (they keep Chromium's service worker awake) */
  apiCalls?: number;
}

export function resetRuntime(fake: RuntimeState): void {
  fake.connects = [];
  fake.ends = [];
  fake.messages = [];
}

/** `browser.runtime` over `fake`: pages connect to the background's onConnect listeners. */
export function fakeRuntime(fake: RuntimeState) {
  return {
    id: EXTENSION,
    getURL: (p: string) => ORIGIN + p,
    getPlatformInfo: async () => {
      fake.apiCalls = (fake.apiCalls ?? 0) + 1;
      return { os: 'linux', arch: 'x86-64' };
    },
    onConnect: { addListener: (l: Listener) => fake.connects.push(l) },
    onMessage: { addListener: (l: Listener) => fake.messages.push(l) },
    // from the background: reaches the pages' listeners, with the background as sender
    sendMessage: async (m: unknown) => {
      for (const l of fake.messages) l(structuredClone(m), { id: EXTENSION, url: `${ORIGIN}background.js` });
    },
    connect: ({ name }: { name: string }) => {
      const page = new FakePort(name);
      const bg = new FakePort(name, fake.sender);
      page.other = bg;
      bg.other = page;
      fake.ends.push(bg);
      for (const l of fake.connects) l(bg);
      return page;
    },
  };
}
