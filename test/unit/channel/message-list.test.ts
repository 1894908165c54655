import { describe, expect, it, vi } from 'vitest';
import type { ChannelMessageView } from '../../../src/shared/protocol';

vi.mock('webextension-polyfill', () => ({
  default: { i18n: { getMessage: (key: string) => (key === 'today' ? 'Today' : '') }, runtime: {} },
}));

const { BLOCK, blocksOf, sameBlock } = await import('../../../src/ui/sidepanel/MessageList');

const DAY = 86_400_000;
const msg = (i: number, at: number): ChannelMessageView =>
  ({ id: `m${i}`, at, direction: 'in', state: null, text: `text ${i}` }) as unknown as ChannelMessageView;

describe("the side panel's message list", () => {
  const today = new Date().toDateString();
  const history = Array.from({ length: 3 * BLOCK + 5 }, (_, i) => msg(i, Date.now() - (3 * BLOCK + 5 - i) * 1000));

  it('a new message changes the last block only: the history before it does not render again', () => {
    const before = blocksOf(history, today);
    const after = blocksOf([...history, msg(999, Date.now())], today);
    expect(after).toHaveLength(before.length);
    expect(after.map((b, i) => sameBlock(before[i]!, b))).toEqual([true, true, true, false]);
  });

  it('a delivery update changes the block of that message only', () => {
    const before = blocksOf(history, today);
    const updated = history.map((m, i) => (i === 1 ? { ...m, state: 'delivered' as const } : m));
    expect(blocksOf(updated, today).map((b, i) => sameBlock(before[i]!, b))).toEqual([false, true, true, true]);
  });

  it('a block knows the day heading before it, and after midnight every block renders again', () => {
    const days = Array.from({ length: BLOCK + 1 }, (_, i) => msg(i, Date.now() - (i < BLOCK ? 2 * DAY : 0)));
    const [first, second] = blocksOf(days, today);
    expect(first!.prevDay).toBe('');
    expect(second!.prevDay).not.toBe('Today');
    const tomorrow = new Date(Date.now() + DAY).toDateString();
    expect(blocksOf(days, tomorrow).map((b, i) => sameBlock(blocksOf(days, today)[i]!, b))).toEqual([false, false]);
  });
});

describe("the side panel's conversation header", async () => {
  const { sameHeader } = await import('../../../src/ui/sidepanel/ConversationHeader');
  const detail = {
    id: 'c1',
    title: 'Globex',
    verified: true,
    members: [{ displayName: 'Gina' }],
    held: [],
    messages: [msg(1, 1)],
  } as unknown as import('../../../src/shared/protocol').ConversationDetail;

  it('does not render again for a message added to the conversation', () => {
    expect(sameHeader(detail, { ...detail, messages: [...detail.messages, msg(2, 2)] })).toBe(true);
  });

  it('renders again when what it shows changes: members, verification, a new field', () => {
    expect(sameHeader(detail, { ...detail, members: [...detail.members] })).toBe(false);
    expect(sameHeader(detail, { ...detail, verified: false })).toBe(false);
    expect(sameHeader(detail, { ...detail, warning: 'x' } as typeof detail)).toBe(false);
  });
});
