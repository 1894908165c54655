import { describe, expect, it } from 'vitest';
import { warningText } from '../../../src/background/channel/views';

describe('channel views', () => {
  it('shows a stored warning by its message, not as "[object Object]"', () => {
    expect(warningText({ code: 'wrong_hub', message: 'an entry from evil.example was dropped', at: 1 })).toBe(
      'an entry from evil.example was dropped',
    );
    expect(warningText('older text')).toBe('older text');
    expect(warningText(null)).toBeNull();
    expect(warningText(undefined)).toBeNull();
  });
});
