// Wait for a subscription's first event while causing events: `cause(round)` runs every 300 ms
// until one arrives (the server subscribes asynchronously, so a single change made at once could
// come before it listens). Gives the event's data; throws after 15 s or on an error.
export async function untilEvent(source, cause) {
  let settled = false;
  let unsubscribe = () => {};
  const event = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no event within 15 s')), 15000);
    const finish = (fn, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      unsubscribe();
      fn(value);
    };
    ({ unsubscribe } = source.subscribe((result) => {
      if (result.error) finish(reject, result.error);
      else if (result.data) finish(resolve, result.data);
    }));
  });
  for (let round = 1; !settled && round <= 50; round += 1) {
    await cause(round);
    await Promise.race([event.catch(() => {}), new Promise((r) => setTimeout(r, 300))]);
  }
  return event;
}
