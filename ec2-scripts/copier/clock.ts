/**
 * Time. Durations come from the monotonic clock (performance.now(): a clock set back or forward
 * changes none of them); the wall clock only for what is shown or compared with a time from
 * outside (--pushed-at, an expiry AWS states).
 */
export interface Clock {
  /** Monotonic milliseconds, for durations and deadlines. */
  monotonic(): number;
  /** Wall-clock milliseconds since the epoch. */
  wall(): number;
}

export const systemClock: Clock = {
  monotonic: () => performance.now(),
  wall: () => Date.now(),
};

/** Seconds as the result lines carry them: a number with at most 2 decimals. */
export const seconds = (milliseconds: number): number => Math.round(milliseconds / 10) / 100;
