// Moved to test/support/firefox.ts (one support layer for tests, the demo and benchmarks); this path
// stays so branches written against it still build. New code imports test/support.
export * from '../../support/firefox';
