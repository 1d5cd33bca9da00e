// A client's clock reading, stored as exactly the instant it names or refused: never rewritten.
//
// Invariants: a value is accepted only when it is an RFC 3339 date-time (T and Z in either case,
// `Z` or a numeric offset, seconds required, any number of fraction digits) that names a real
// calendar instant PostgreSQL stores without change: no `:60` (PostgreSQL rolls a leap second into
// the next minute), no day past the month's end (JavaScript's Date rolls Feb 30 into March), no
// sub-microsecond digits other than zeros (PostgreSQL rounds them), and years 0001 to 9999 once
// moved to UTC (so it reads back in the same form). An accepted value is sent to PostgreSQL in the
// canonical form below, which its timestamptz input parses exactly.
//
// The canonical form, which is also how a stored client time reads back: UTC, upper-case `T` and
// `Z`, three fraction digits, or six when the instant has microseconds
// (`2026-11-23T12:00:00.000Z`, `2026-11-23T12:00:00.123456Z`). "Reads back equal" means the same
// instant, not the same characters.

export type ClientTimeCheck = { ok: true; time: string | null } | { ok: false; problem: string };

const rfc3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

const example = 'such as 2026-11-23T12:00:00Z or 2026-11-23T13:00:00.123456+01:00';
const monthNames = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

/** The canonical form of a UTC instant given as whole milliseconds plus microseconds (0..999). */
function formatUtc(ms: number, micros: number): string | undefined {
  const date = new Date(ms);
  const year = date.getUTCFullYear();
  if (year < 1 || year > 9999) return undefined;
  const fraction = pad(date.getUTCMilliseconds(), 3) + (micros === 0 ? '' : pad(micros, 3));
  return (
    `${pad(year, 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}` +
    `T${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}` +
    `.${fraction}Z`
  );
}

function fieldProblem(parts: number[], text: string): string | undefined {
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = parts;
  if (month < 1 || month > 12) return `${text} has month ${pad(month, 2)}; months are 01 to 12`;
  if (day < 1 || day > daysIn(year, month)) {
    const name = monthNames[month - 1] ?? '';
    return `${text} is not a date: ${name} ${pad(year, 4)} has ${daysIn(year, month)} days`;
  }
  if (hour > 23 || minute > 59) return `${text} is not a time of day`;
  if (second === 60) {
    return `${text} is a leap second, which PostgreSQL cannot store (it would become the next minute); send :59 or the next minute`;
  }
  if (second > 59) return `${text} has second ${second}; seconds are 00 to 59`;
  return undefined;
}

function parseText(text: string): ClientTimeCheck {
  const match = rfc3339.exec(text);
  if (match === null) {
    return {
      ok: false,
      problem: `clientTime must be an RFC 3339 date-time with seconds and a time zone, ${example}`,
    };
  }
  const [, y, mo, d, h, mi, s, fraction = '', sign, oh = '0', om = '0'] = match;
  const parts = [y, mo, d, h, mi, s].map(Number);
  const problem = fieldProblem(parts, `clientTime ${text}`);
  if (problem !== undefined) return { ok: false, problem };
  if (Number(oh) > 23 || Number(om) > 59) {
    return { ok: false, problem: `clientTime ${text} has an offset that is not a time of day` };
  }
  if (/[1-9]/.test(fraction.slice(6))) {
    return {
      ok: false,
      problem: `clientTime ${text} has ${fraction.length} fraction digits; agate stores microseconds (6 digits) exactly, so round it to 6`,
    };
  }
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = parts;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  const offsetMinutes = (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om));
  const micros = Number(fraction.slice(0, 6).padEnd(6, '0'));
  const ms = date.getTime() - offsetMinutes * 60_000 + Math.floor(micros / 1000);
  const time = formatUtc(ms, micros % 1000);
  if (time === undefined) {
    return {
      ok: false,
      problem: `clientTime ${text} falls outside the years 0001 to 9999 in UTC, which is all agate stores`,
    };
  }
  return { ok: true, time };
}

/**
 * Checks a client time (an RFC 3339 string or a Date) and gives the canonical UTC form to store,
 * or a problem that says why it cannot be stored exactly. Absent (`undefined`/`null`) is null.
 */
export function checkClientTime(value: unknown): ClientTimeCheck {
  if (value === undefined || value === null) return { ok: true, time: null };
  if (typeof value === 'string') return parseText(value);
  if (value instanceof Date) {
    const ms = value.getTime();
    const time = Number.isNaN(ms) ? undefined : formatUtc(ms, 0);
    if (time !== undefined) return { ok: true, time };
    return {
      ok: false,
      problem: 'clientTime is an invalid Date or outside the years 0001 to 9999',
    };
  }
  return { ok: false, problem: `clientTime must be an RFC 3339 string, ${example}` };
}

/**
 * A stored client time (PostgreSQL's `YYYY-MM-DDTHH:MI:SS.USZ`, six fraction digits) in the
 * canonical form: three fraction digits when the microseconds are zero.
 */
export function storedClientTime(text: string | null): string | null {
  if (text === null) return null;
  return text.endsWith('000Z') ? `${text.slice(0, -4)}Z` : text;
}

/** The SQL that reads `column` (a timestamptz) as `storedClientTime` expects it. */
export function clientTimeSql(column: string): string {
  return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

/** Microseconds since 1970 of a canonical client time (Date.parse alone keeps milliseconds). */
export function clientTimeMicros(time: string): bigint {
  const extra = /\.\d{3}(\d{3})Z$/.exec(time)?.[1] ?? '0';
  return BigInt(Date.parse(time)) * 1000n + BigInt(extra);
}
