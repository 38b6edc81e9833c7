import assert from 'node:assert/strict';
import { sendTimer } from '../../lib/core/send-timer';

describe("disableSignup's decoy wait (sendTimer)", () => {
  const draws = (timer: ReturnType<typeof sendTimer>, n = 400) => Array.from({ length: n }, () => timer.delayMs());

  it('waits a typical provider latency before any real send was timed', () => {
    for (const ms of draws(sendTimer())) assert.ok(ms >= 270 && ms <= 330, `${ms}`);
  });

  it('waits as long as the real sends take from the first one on, not a mean that a fresh process has yet to learn', () => {
    const timer = sendTimer();
    timer.record(5);
    for (const ms of draws(timer)) assert.ok(ms >= 4.5 && ms <= 5.5, `${ms}`);
  });

  it("draws from recent sends' durations, so its spread is the provider's, not one mean's", () => {
    const timer = sendTimer();
    timer.record(10);
    timer.record(200);
    const all = draws(timer);
    for (const ms of all) assert.ok((ms >= 9 && ms <= 11) || (ms >= 180 && ms <= 220), `${ms}`);
    assert.ok(all.some((ms) => ms < 20) && all.some((ms) => ms > 100), 'both durations are drawn');
  });

  it('forgets old sends: the provider that got faster is imitated as it is now', () => {
    const timer = sendTimer();
    timer.record(1000);
    for (let i = 0; i < 32; i += 1) timer.record(20);
    for (const ms of draws(timer)) assert.ok(ms >= 18 && ms <= 22, `${ms}`);
  });

  it('imitates slow sends too (a failover, a gateway near its timeout), up to 120 s, and ignores durations that are no durations', () => {
    const slow = sendTimer();
    slow.record(4_000);
    const waits = draws(slow);
    for (const ms of waits) assert.ok(ms >= 3_600 && ms <= 4_400, `${ms}`);
    assert.ok(new Set(waits).size > 1, 'jittered, not pinned to one value');
    const timer = sendTimer();
    timer.record(600_000);
    timer.record(Number.NaN);
    timer.record(-5);
    for (const ms of draws(timer)) assert.ok(ms >= 108_000 && ms <= 132_000, `${ms}`);
  });
});
