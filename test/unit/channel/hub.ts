// Moved to test/support/hub.ts (shared by unit tests and scripts/bench/channel.ts); this path
// stays so branches written against it still build. New code imports test/support.
export * from '../../support/hub';
