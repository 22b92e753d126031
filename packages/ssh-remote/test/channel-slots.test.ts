import { expect, test } from 'vitest';
import { ChannelSlots } from '../src/channel-slots.js';

test('at most `limit` holders; the next waiter gets a released slot, first come first served', async () => {
  const slots = new ChannelSlots(2);
  const a = await slots.acquire();
  const b = await slots.acquire();
  const order: string[] = [];
  const c = slots.acquire().then((release) => {
    order.push('c');
    return release;
  });
  const d = slots.acquire().then((release) => {
    order.push('d');
    return release;
  });
  await Promise.resolve();
  expect(slots.inUse).toBe(2);
  expect(slots.queued).toBe(2);
  a();
  a(); // a second call must not free another slot
  const releaseC = await c;
  expect(order).toEqual(['c']);
  expect(slots.queued).toBe(1);
  b();
  const releaseD = await d;
  expect(order).toEqual(['c', 'd']);
  releaseC();
  releaseD();
  expect(slots.inUse).toBe(0);
});

test('an aborted waiter leaves the line and rejects with the abort reason', async () => {
  const slots = new ChannelSlots(1);
  const held = await slots.acquire();
  const controller = new AbortController();
  const waiting = slots.acquire(controller.signal);
  controller.abort(new Error('cancelled'));
  await expect(waiting).rejects.toThrow('cancelled');
  expect(slots.queued).toBe(0);
  held();
  expect(slots.inUse).toBe(0);
});
