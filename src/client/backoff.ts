/**
 * The wait before reconnect attempt `attempt` (0 for the first): exponential backoff with
 * "full jitter", a random share of min(maxDelayMs, minDelayMs·2^attempt), so that clients
 * dropped together do not all come back at the same moment.
 */
export function backoffDelay(
  attempt: number,
  minDelayMs: number,
  maxDelayMs: number,
  random: () => number,
): number {
  const ceiling = Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(attempt, 30))
  return Math.floor(random() * ceiling)
}
