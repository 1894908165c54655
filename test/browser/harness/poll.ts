// Moved to test/support/poll.ts (one support layer for tests, the demo and benchmarks); this path
// stays so branches written against it still build. New code imports test/support.
export * from '../../support/poll';
