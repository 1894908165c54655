/**
 * At-rest encryption for the channel's secrets. One AES-GCM-256 key is generated once,
 * non-extractable, and stored as a CryptoKey in IndexedDB (structured clone keeps it
 * non-extractable: script can use it but never read its bytes). Each value is sealed with a
 * fresh random 96-bit IV and an AAD naming its slot, so a sealed group state cannot be
 * swapped into another conversation's record unnoticed.
 *
 * Limits (docs/security.md, "What Kontor does not protect against"): whoever copies the whole browser profile also copies this key.
 */
import type { ChannelDb, Sealed } from './db';
import { utf8 } from '../../wire/bytes';

export class SealError extends Error {
  override name = 'SealError';
}

const MASTER = 'master';

export class Keystore {
  private constructor(private readonly key: CryptoKey) {}

  /** Loads the master key, creating it on first use. Safe against concurrent first opens. */
  static async open(db: ChannelDb): Promise<Keystore> {
    const existing = await db.get('keys', MASTER);
    if (existing) return new Keystore(existing);
    const fresh = await globalThis.crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
    // generate outside the transaction (it would auto-commit across a non-IDB await), then
    // insert only if nobody else did meanwhile
    const tx = db.transaction('keys', 'readwrite');
    const raced = await tx.store.get(MASTER);
    if (!raced) await tx.store.put(fresh, MASTER);
    await tx.done;
    return new Keystore(raced ?? fresh);
  }

  /** Seals bytes for one slot; `aad` names the slot (e.g. `conversation:<id>:state`). */
  async seal(bytes: Uint8Array, aad: string): Promise<Sealed> {
    const iv = new Uint8Array(12);
    globalThis.crypto.getRandomValues(iv);
    const ct = await globalThis.crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: utf8(`kontor-seal-v1\n${aad}`) as BufferSource },
      this.key,
      bytes as BufferSource,
    );
    return { iv, ct: new Uint8Array(ct) };
  }

  async open(s: Sealed, aad: string): Promise<Uint8Array> {
    try {
      const pt = await globalThis.crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: s.iv as BufferSource, additionalData: utf8(`kontor-seal-v1\n${aad}`) as BufferSource },
        this.key,
        s.ct as BufferSource,
      );
      return new Uint8Array(pt);
    } catch (e) {
      throw new SealError(`cannot open sealed value for ${aad}`, { cause: e });
    }
  }

  async sealJson(value: unknown, aad: string): Promise<Sealed> {
    return this.seal(utf8(JSON.stringify(value)), aad);
  }

  async openJson(s: Sealed, aad: string): Promise<unknown> {
    return JSON.parse(new TextDecoder().decode(await this.open(s, aad)));
  }
}
