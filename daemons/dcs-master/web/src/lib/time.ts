// Times: Unix milliseconds from the API, hours (ms / 3,600,000) in the sales aggregate.

export const HOUR_MS = 3_600_000;

/** "just now", "12 s ago", "5 min ago", "3 h ago", "2 d ago"; "in 4 s" for a time ahead of `now`. */
export function formatRelative(ms: number | null, now: number = Date.now()): string {
  if (ms === null) return 'never';
  const diff = now - ms;
  const ahead = diff < 0;
  const s = Math.floor(Math.abs(diff) / 1000);
  if (s < 1) return 'just now';
  let text: string;
  if (s < 60) text = `${s} s`;
  else if (s < 3600) text = `${Math.floor(s / 60)} min`;
  else if (s < 86_400) text = `${Math.floor(s / 3600)} h`;
  else text = `${Math.floor(s / 86_400)} d`;
  return ahead ? `in ${text}` : `${text} ago`;
}

const absolute = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  timeZoneName: 'short',
});

/** The absolute time for a title: "Dec 4, 2024, 08:13:20 UTC". */
export function formatAbsolute(ms: number): string {
  return absolute.format(new Date(ms));
}

export function hourOf(ms: number): number {
  return Math.floor(ms / HOUR_MS);
}

const hourLabel = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

/** A sales hour as local text: "Dec 4, 14:00". */
export function formatHour(hour: number): string {
  return hourLabel.format(new Date(hour * HOUR_MS));
}

/** `yyyy-MM-ddTHH:mm` in local time, for <input type="datetime-local">. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Parses a datetime-local value (local time); null when blank or invalid. */
export function fromLocalInput(value: string): number | null {
  if (!value) return null;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? null : ms;
}
