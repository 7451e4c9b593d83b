// In-page performance marks ("cellucid:<name>", once each) for profiling the startup path:
// performance.getEntriesByType("mark") in a test or a benchmark shows where the time went.
const done = new Set();

/** Mark `name` the first time it is reached. */
export function mark(name) {
  if (done.has(name) || !window.performance || !performance.mark) return;
  done.add(name);
  performance.mark(`cellucid:${name}`);
}
