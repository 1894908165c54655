/** Messages between ThreadedStore (main thread) and store-worker.ts. */
import type { Store } from './types';

export type StoreMethod = Exclude<keyof Store, 'close'>;
/** [call id, method, arguments] */
export type StoreCall = [number, StoreMethod, unknown[]];
/** [call id, fulfilled, value or {name, message}] */
export type StoreReply = [number, boolean, unknown];
