/** Plain, serialisable views of channel data for Kontor's own pages. */
import type { ChannelMessageView } from '../../shared/protocol';
import type { MessageView, Person } from './index';

export const person = (p: Person) => ({
  displayName: p.displayName,
  orgDomain: p.orgDomain,
  employeeId: p.employeeId,
  deviceId: p.deviceId,
  linkedBy: p.linkedBy ?? null,
});

export function messageView(m: MessageView): ChannelMessageView {
  return {
    id: m.id,
    at: m.at,
    direction: m.direction === 'out' ? 'out' : 'in',
    state: (m.state ?? null) as ChannelMessageView['state'],
    sender: person(m.sender),
    text: m.payload?.type === 'text' ? m.payload.text : null,
    transferred: m.transferred === true,
    event: m.event ? { kind: m.event.kind, who: m.event.who.map(person), detail: m.event.detail ?? null } : null,
  };
}

/** The text of a conversation's stored warning ({code, message, at}); older records may hold a string. */
export function warningText(w: unknown): string | null {
  if (!w) return null;
  if (typeof w === 'object' && typeof (w as { message?: unknown }).message === 'string') return (w as { message: string }).message;
  return String(w);
}
