/**
 * "Start private contact": the popup names the partner, the side panel (opened by the same
 * click) asks which partner it was. The choice lives in session storage, owned here; the side
 * panel hears of a change by a push event and asks with `contact.pending`.
 */
import { KontorError } from '../../shared/errors';
import { push } from '../page-ports';
import { feature } from '../feature';
import { storage } from '../storage';
import { listPartners } from './directory';

export const contactFeature = feature({
  handlers: {
    'contact.request': async ({ domain }) => {
      const partner = (await listPartners()).find((p) => p.domain === domain);
      if (!partner) throw new KontorError('not_found', `${domain} is not a partner`);
      await storage.set('contactPending', { domain, at: Date.now() });
      push({ kontor: 1, event: 'contact', type: 'pending' });
      return { partner };
    },
    'contact.pending': async () => {
      const pending = await storage.get('contactPending');
      const partner = pending ? ((await listPartners()).find((p) => p.domain === pending.domain) ?? null) : null;
      return { partner };
    },
  },
});
