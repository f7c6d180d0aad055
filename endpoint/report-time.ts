/**
 * A report's time is the node's clock, which can be hours off before NTP sets it; the endpoint orders reports by
 * their arrival (Registry.addReport) and holds their times against its own clock only to flag or refuse them.
 */

/**
 * How far a report's time may be ahead of its receipt before the fleet view flags the node's clock: 5 minutes, the
 * skew Kubernetes itself absorbs (its CSR signer backdates certificates by 5 minutes: kubernetes/kubernetes
 * pkg/controller/certificates/signer/signer.go, `Backdate: 5 * time.Minute`, read 2026-12-06). An agent sends a
 * report as soon as it is written (outbox-sender.ts pauses at most 10 s between tries), so an honest report on a
 * synced clock arrives within seconds.
 */
export const CLOCK_SKEW_FLAG_MS = 5 * 60_000;

/**
 * How far ahead of the endpoint's clock a report's time may be: 24 hours. A report cannot be received before it
 * was made, so only a wrong clock puts it ahead; the largest honest error before NTP is a hardware clock kept in
 * local time and read as UTC, at most 14 hours (UTC+14, Pacific/Kiritimati: the tz database's `australasia`,
 * eggert/tz, read 2026-12-06), plus drift. A report further ahead is refused with 400; the agent keeps it in its
 * outbox-rejected folder and does not send it again. There is no bound behind: a report waits in the outbox for
 * as long as the endpoint cannot be reached (an outage, a replaced CA), so an old time is no sign of a broken one.
 */
export const REPORT_MAX_AHEAD_MS = 24 * 3_600_000;
