/** Device labels (issue 15): how a browser names itself, and whose labels a conversation may show. */
import { describe, expect, it } from 'vitest';
import { deviceLabelFrom } from '../../../src/shared/browser-label';
import { linkedByLabel } from '../../../src/shared/device-label';

describe('device labels (issue 15)', () => {
  it('names the browser and its system from the platform hint or the user agent string', () => {
    expect(deviceLabelFrom('chromium', 'Linux')).toBe('Chromium on Linux');
    expect(deviceLabelFrom('chromium', 'Windows')).toBe('Chromium on Windows');
    expect(deviceLabelFrom('chromium', 'macOS')).toBe('Chromium on macOS');
    expect(deviceLabelFrom('chromium', 'Chrome OS')).toBe('Chromium on ChromeOS');
    expect(deviceLabelFrom('firefox', 'Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0')).toBe('Firefox on Linux');
    expect(deviceLabelFrom('firefox', 'Mozilla/5.0 (Android 14; Mobile; rv:153.0) Gecko/153.0 Firefox/153.0')).toBe('Firefox on Android');
    expect(deviceLabelFrom('firefox', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:153.0)')).toBe('Firefox on Windows');
    expect(deviceLabelFrom('chromium', 'something else')).toBe('Chromium');
  });

  it("shows a label only for a device of this employee: a partner's gateway cannot borrow our device ids", () => {
    const self = { orgDomain: 'acme.example', employeeId: 'alice' };
    const labels = new Map([['d1', 'Chromium on Linux']]);
    expect(linkedByLabel({ orgDomain: 'acme.example', employeeId: 'alice', linkedBy: 'd1' }, self, labels)).toBe('Chromium on Linux');
    expect(linkedByLabel({ orgDomain: 'globex.example', employeeId: 'alice', linkedBy: 'd1' }, self, labels)).toBeNull();
    expect(linkedByLabel({ orgDomain: 'acme.example', employeeId: 'bob', linkedBy: 'd1' }, self, labels)).toBeNull();
    expect(linkedByLabel({ orgDomain: 'acme.example', employeeId: 'alice', linkedBy: null }, self, labels)).toBeNull();
    expect(linkedByLabel({ orgDomain: 'acme.example', employeeId: 'alice', linkedBy: 'd2' }, self, labels)).toBeNull();
  });
});
