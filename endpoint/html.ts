/**
 * What every HTML page of the endpoint shares: the document around its <main> (style, policy, live script) and
 * the escaping and time formats of what it shows. Node names, pools and messages arrive over the network:
 * everything shown goes through escapeHtml.
 */
import { contentSecurityPolicy, liveScript } from './fleet-live';

/** "850 ms", "12.3 s", "1m 23s", "2h 05m": precise where a step is quick, coarse where a phase is long. */
export function formatDuration(ms: number): string {
  // Durations come from the nodes' reports; a negative or broken one should not break the page.
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (Math.round(ms) < 1000) return `${Math.round(ms)} ms`;
  const tenths = Math.round(ms / 100);
  if (tenths < 600) return `${(tenths / 10).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${pad2(seconds % 60)}s`;
  const minutes = Math.round(ms / 60_000);
  return `${Math.floor(minutes / 60)}h ${pad2(minutes % 60)}m`;
}

/**
 * A page of the endpoint's: `main` in the body, with the live script and the policy that allows it alone. The
 * refresh of a browser without scripts sits in <noscript>, which a browser that runs them does not parse as markup
 * (HTML Living Standard, "The noscript element", https://html.spec.whatwg.org/multipage/scripting.html#the-noscript-element,
 * read 2026-12-06): the script decides there.
 */
export function htmlDocument(title: string, refreshSeconds: number, main: string[]): string {
  // A zero or fractional refresh would have the browser hammer the endpoint or ignore the tag.
  if (!Number.isInteger(refreshSeconds) || refreshSeconds < 1) throw new RangeError(`refreshSeconds must be a whole number of seconds, at least 1 (got ${refreshSeconds})`);
  const script = liveScript(refreshSeconds);
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(script)}">`,
    `<noscript><meta http-equiv="refresh" content="${refreshSeconds}"></noscript>`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="color-scheme" content="light dark">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<main>',
    ...main,
    '</main>',
    `<script>${script}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** An RFC 3339 time as "2024-05-01 10:00:00 UTC"; a value that does not parse is shown as it came. */
export function timeElement(iso: string): string {
  const ms = Date.parse(iso);
  const shown = Number.isNaN(ms) ? iso : new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  return `<time datetime="${escapeHtml(iso)}">${escapeHtml(shown)}</time>`;
}

/** Node names, pools and error messages arrive over the network; everything from the view goes through here. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c] as string);
}

const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/**
 * Light by default, dark where the system asks for it (prefers-color-scheme, Media Queries Level 5,
 * https://www.w3.org/TR/mediaqueries-5/#prefers-color-scheme, read 2026-12-06); the running bar pulses unless
 * the reader asked for less motion (prefers-reduced-motion, same spec).
 */
const STYLE = [
  ':root{--fg:#222;--muted:#666;--line:#ddd;--bg:#fff;--ready:#eefbea;--failed-bg:#fdecea;--done:#2e8b57;--running:#1f6fd1;--skipped:#9aa0a6;--failed:#d93025;--warn:#a04000}',
  '@media (prefers-color-scheme:dark){:root{--fg:#e6e6e6;--muted:#a0a0a0;--line:#444;--bg:#16181b;--ready:#1d3324;--failed-bg:#402020;--done:#4caf7a;--running:#5aa0ff;--skipped:#80868b;--failed:#ff6b5e;--warn:#ffab70}}',
  'body{font-family:system-ui,sans-serif;margin:1rem 1.5rem;color:var(--fg);background:var(--bg)}',
  'a{color:inherit}',
  'table{border-collapse:collapse}',
  'th,td{border-bottom:1px solid var(--line);padding:.3rem .6rem;text-align:left;vertical-align:top}',
  'tr.ready td{background:var(--ready)}',
  'tr.failed td{background:var(--failed-bg)}',
  'tr.departed td{color:var(--muted)}',
  '.note{color:var(--muted)}',
  '.clock-skew{color:var(--warn);font-size:.9em}',
  'pre{margin:0;white-space:pre-wrap;max-width:40rem}',
  '.generated{color:var(--muted);font-size:.9em}',
  '.counts{display:flex;flex-wrap:wrap;gap:.5rem;list-style:none;padding:0}',
  '.counts li{border:1px solid var(--line);border-radius:.3rem;padding:.2rem .6rem}',
  '.counts li.failed b{color:var(--failed)}',
  '.aggregates{display:flex;flex-wrap:wrap;gap:1.5rem;align-items:flex-start}',
  'figure{margin:0}',
  'svg text{fill:var(--fg);font-size:10px}',
  'svg .tick,svg .phase{fill:var(--muted)}',
  'svg .grid{stroke:var(--line);stroke-width:.5}',
  '.histogram rect{fill:var(--running)}',
  '.timeline{max-width:100%;margin:.5rem 0}',
  '.timeline .done,.key.done{fill:var(--done);background:var(--done)}',
  '.timeline .running,.key.running{fill:var(--running);background:var(--running)}',
  '.timeline .skipped,.key.skipped{fill:var(--skipped);background:var(--skipped)}',
  '.timeline .failed,.key.failed{fill:var(--failed);background:var(--failed)}',
  '.timeline g.departed{opacity:.5}',
  '.timeline path{stroke:var(--bg);stroke-width:.6}',
  '.key{color:#fff;padding:0 .4rem;border-radius:.2rem}',
  '@keyframes pulse{50%{opacity:.35}}',
  '.timeline path.running{animation:pulse 1.2s ease-in-out infinite}',
  '@media (prefers-reduced-motion:reduce){.timeline path.running{animation:none}}',
  '.filters label{margin-right:.6rem}',
  '.tip{position:absolute;background:var(--bg);color:var(--fg);border:1px solid var(--line);padding:.2rem .4rem;font-size:.85em;pointer-events:none;white-space:pre}',
].join('');
