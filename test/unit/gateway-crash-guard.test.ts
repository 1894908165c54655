/** What ends the gateway process (src/gateway/crash-guard.ts). */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { guardProcess, isConnectionLoss } from '../../src/gateway/crash-guard';

/** PostgreSQL's own error for a connection it ends while shutting down, as the driver reports it. */
const adminShutdown = Object.assign(new Error('terminating connection due to administrator command'), { severity: 'FATAL', code: '57P01' });

describe('the gateway process and stray errors', () => {
  it('tells a lost database connection from everything else', () => {
    expect(isConnectionLoss(adminShutdown)).toBe(true);
    expect(isConnectionLoss(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isConnectionLoss(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isConnectionLoss(Object.assign(new Error('duplicate key value'), { code: '23505' }))).toBe(false);
    expect(isConnectionLoss(new TypeError("Cannot read properties of undefined (reading 'x')"))).toBe(false);
    expect(isConnectionLoss('a string')).toBe(false);
  });

  it('a lost connection nobody waited for is logged with its stack and the process goes on; anything else still ends it', () => {
    const proc = new EventEmitter();
    const warned: { msg: string; fields?: Record<string, unknown> }[] = [];
    const fatal: unknown[] = [];
    guardProcess(proc as never, { warn: (msg, fields) => warned.push({ msg, fields }) }, (e) => fatal.push(e));
    proc.emit('unhandledRejection', adminShutdown);
    proc.emit('uncaughtException', adminShutdown);
    expect(fatal).toEqual([]);
    expect(warned).toHaveLength(2);
    expect(warned[0]!.fields).toMatchObject({ error: adminShutdown.message, stack: adminShutdown.stack });
    const bug = new TypeError('a bug');
    proc.emit('unhandledRejection', bug);
    proc.emit('uncaughtException', bug);
    expect(fatal).toEqual([bug, bug]);
  });
});
