/** Tracker blocking as a feature: its handlers (handlers.ts) and its listeners (events.ts). */
import { feature } from '../feature';
import { registerBlocking } from './events';
import { blockingHandlers } from './handlers';

export const blockingFeature = feature({ handlers: blockingHandlers, register: registerBlocking });
