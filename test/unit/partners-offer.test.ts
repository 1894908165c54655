import { describe, expect, it } from 'vitest';
import { gateOffer } from '../../src/background/partners/offer';

const nonPartner = {
  domain: 'initech.example',
  manifestUrl: 'https://initech.example/.well-known/kontor.json',
  partner: false,
  hint: null,
};

describe('discovery.offerNonPartners', () => {
  it('true (the default): the popup may say a non-partner accepts contact through Kontor', () => {
    expect(gateOffer(nonPartner, true)).toEqual({ ...nonPartner, offer: true });
  });

  it('false: no offer for a non-partner, and its manifest address is not passed on', () => {
    expect(gateOffer(nonPartner, false)).toEqual({ ...nonPartner, manifestUrl: null, offer: false });
  });

  it('partners are not affected either way (their card offers contact)', () => {
    const partner = { ...nonPartner, partner: true };
    expect(gateOffer(partner, false)).toEqual({ ...partner, offer: false });
    expect(gateOffer(partner, true)).toEqual({ ...partner, offer: false });
  });
});
