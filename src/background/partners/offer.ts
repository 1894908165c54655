/**
 * The policy's `discovery.offerNonPartners` (docs/admin.md): when false, Kontor does not offer
 * contact to a company that is not a partner. The only such offer is the popup's line that a
 * site accepts private contact through Kontor (its `<link rel="kontor">`); partners are not
 * affected.
 */
import type { Discovery } from '../../shared/protocol';

export function gateOffer(found: Omit<Discovery, 'offer'>, offerNonPartners: boolean): Discovery {
  if (found.partner || offerNonPartners) return { ...found, offer: !found.partner };
  return { ...found, manifestUrl: null, offer: false };
}
