import { describe, expect, it } from 'vitest';
import { waitingFor } from '../../src/web/ui/format.js';

describe('the dashboard\'s wording of a wait', () => {
  it('says how long someone has waited, not "waiting … ago"', () => {
    const now = Date.parse('2026-12-04T12:00:00Z');
    expect(waitingFor('2026-12-04T11:58:51Z', now)).toBe('waiting for 1m 09s');
    expect(waitingFor('2026-12-04T11:59:58Z', now)).toBe('just joined');
    expect(waitingFor('2026-12-04T09:30:00Z', now)).toBe('waiting for 2h 30m');
  });
});
