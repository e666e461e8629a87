// RFC 3339 timestamps as the receipt format uses them (spec §1, §4, §5).
// Times are compared as integer microseconds since the epoch (UTC), which is
// the precision the Python verifier keeps (fractions beyond 6 digits truncate).

const STRICT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;
const LENIENT = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

// `issued_at`: exactly YYYY-MM-DDTHH:MM:SSZ and a real calendar time; null otherwise.
export function parseStrict(text) {
  const m = typeof text === 'string' ? STRICT.exec(text) : null;
  return m ? micros(m, 0, 0) : null;
}

// Key-set dates: any RFC 3339 offset, fractions allowed; null if not a time.
export function parseLenient(text) {
  const m = typeof text === 'string' ? LENIENT.exec(text) : null;
  if (!m) return null;
  const fraction = m[7] ? Number((m[7].slice(1) + '00000').slice(0, 6)) : 0;
  let offset = 0;
  if (m[8] !== 'Z' && m[8] !== 'z') {
    const hours = Number(m[8].slice(1, 3));
    const minutes = Number(m[8].slice(4, 6));
    if (hours > 23 || minutes > 59) return null;
    offset = (m[8][0] === '-' ? -1 : 1) * (hours * 60 + minutes);
  }
  return micros(m, fraction, offset);
}

function micros(m, fraction, offsetMinutes) {
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  if (year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const date = new Date(ms);
  // Date.UTC(…, year < 100) maps to 19xx; setUTCFullYear keeps the year as written.
  date.setUTCFullYear(year);
  if (date.getUTCDate() !== day || date.getUTCMonth() !== month - 1) return null;
  return (date.getTime() - offsetMinutes * 60000) * 1000 + fraction;
}

export function formatMicros(us) {
  const text = new Date(Math.floor(us / 1000)).toISOString();
  return us % 1000000 === 0 ? `${text.slice(0, 19)}Z` : text;
}
