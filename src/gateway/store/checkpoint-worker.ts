/**
 * Runs WAL checkpoints on its own thread and connection. With auto-checkpoint on the main
 * connection, the commit that crosses the threshold copies and fsyncs the database file
 * while the event loop waits: a latency spike of tens of milliseconds under load.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const db = new Database(workerData.file as string);
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = FULL');
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    /* busy: try again next tick */
  }
}, workerData.intervalMs as number);
parentPort?.on('message', (m) => {
  if (m === 'stop') {
    clearInterval(timer);
    db.close();
    process.exit(0);
  }
});
