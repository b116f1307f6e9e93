import { OverloadGauge } from './load-shedding';

describe('OverloadGauge: Retry-After from the backlog of refused clients and the completion rate', () => {
  let clock = 0;
  const gauge = () => {
    clock = 10_000;
    return new OverloadGauge(() => clock);
  };

  it('is 1 s with nothing refused, or when the broker completes the backlog within a second', () => {
    const g = gauge();
    expect(g.retryAfterSeconds()).toBe(1);
    for (let i = 0; i < 50; i++) g.completed();
    for (let i = 0; i < 40; i++) g.shed();
    expect(g.retryAfterSeconds()).toBe(1);
  });

  it('grows with the refused clients per completion per second, up to 60 s', () => {
    const g = gauge();
    for (let i = 0; i < 10; i++) g.completed();
    for (let i = 0; i < 35; i++) g.shed();
    expect(g.retryAfterSeconds()).toBe(4); // 35 waiting / 10 per second
    for (let i = 0; i < 1000; i++) g.shed();
    expect(g.retryAfterSeconds()).toBe(60);
  });

  it('counts the last two windows: the previous window still counts, older ones do not', () => {
    const g = gauge();
    for (let i = 0; i < 20; i++) g.shed(); // nothing completed: 20 s
    expect(g.retryAfterSeconds()).toBe(20);
    clock += 1000; // next window: the 20 still wait, the previous window's 0 completions → 1/s
    for (let i = 0; i < 5; i++) g.shed();
    expect(g.retryAfterSeconds()).toBe(25);
    for (let i = 0; i < 5; i++) g.completed();
    expect(g.retryAfterSeconds()).toBe(5); // 25 waiting / 5 per second
    clock += 1000; // the first window's 20 are forgotten; 5 refused, 5 completed per second
    expect(g.retryAfterSeconds()).toBe(1);
    clock += 5000; // long quiet: the refused are forgotten, the best rate (5/s) is not
    expect(g.retryAfterSeconds()).toBe(1);
    for (let i = 0; i < 12; i++) g.shed();
    expect(g.retryAfterSeconds()).toBe(3); // 12 waiting / 5 per second
    clock += 31_000; // the rate too is forgotten after 30 s
    for (let i = 0; i < 12; i++) g.shed();
    expect(g.retryAfterSeconds()).toBe(12);
  });

  it('counts each refused client as the requests it will make again', () => {
    clock = 0;
    const g = new OverloadGauge(() => clock, 1, 3);
    for (let i = 0; i < 100; i++) g.completed();
    for (let i = 0; i < 100; i++) g.shed();
    expect(g.retryAfterSeconds()).toBe(3); // 100 boots of 3 requests at 100 requests/s
  });

  it('never takes the rate below its floor (MAX_INFLIGHT per second): a cold broker does not send clients away for long', () => {
    clock = 0;
    const g = new OverloadGauge(() => clock, 64);
    for (let i = 0; i < 900; i++) g.shed(); // a storm's first second: 900 refused, 3 completed
    for (let i = 0; i < 3; i++) g.completed();
    expect(g.retryAfterSeconds()).toBe(15); // 900 / 64, not 900 / 3 (capped at 60)
    clock += 1000;
    for (let i = 0; i < 300; i++) g.completed();
    expect(g.retryAfterSeconds()).toBe(3); // 900 / 300
  });
});
