/**
 * A feature of the background registers itself: its message handlers, its start-up work and
 * its listeners, in one object its own folder exports (as blocking/feature.ts does). The
 * entry (index.ts) only lists the features.
 */
import type { Kind } from '../shared/protocol';
import type { Handlers } from './dispatcher';

export interface Feature<K extends Kind> {
  /** The protocol kinds this feature answers. */
  readonly handlers: Pick<Handlers, K>;
  /** Start-up work, run in order of the feature list before any handler runs. */
  readonly init?: () => Promise<void>;
  /**
   * Adds the feature's event listeners. Called synchronously at the background's top level,
   * so a worker woken by one of these events sees it; work waits for `ready`.
   */
  readonly register?: (ready: Promise<unknown>) => void;
}

/** Identity with the kinds inferred, so a feature file reads `export default feature({...})`. */
export function feature<K extends Kind>(f: Feature<K>): Feature<K> {
  return f;
}
