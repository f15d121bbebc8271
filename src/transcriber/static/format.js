// Formatting of durations, timestamps, sizes and dates for the current language.

import { locale, t } from "./i18n.js";

const pad = (n) => String(n).padStart(2, "0");

/** Seconds as m:ss, or h:mm:ss from an hour on ("—" when unknown). */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const total = Math.max(0, Math.round(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

/** A short length in seconds with one decimal and the locale's separator (at least 0.1). */
export function seconds(value) {
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: 1 }).format(Math.max(0.1, Number(value) || 0));
}

/** ETA as mm:ss (h:mm:ss from an hour on). */
export function eta(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const total = Math.max(0, Math.ceil(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  return h ? `${h}:${pad(m)}:${pad(total % 60)}` : `${pad(m)}:${pad(total % 60)}`;
}

/** A phrase's start as mm:ss (h:mm:ss for long recordings). */
export function timestamp(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  return h ? `${h}:${pad(m)}:${pad(total % 60)}` : `${pad(m)}:${pad(total % 60)}`;
}

/** Bytes in B/KB/MB/GB (binary multiples), with the locale's decimal separator. */
export function size(bytes) {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return "—";
  const units = ["B", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  const number = new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(value);
  return `${number} ${t(`unit.${units[unit]}`)}`;
}

/** An ISO timestamp as a short local date and time. */
export function date(iso) {
  if (!iso) return "—";
  const value = new Date(iso);
  if (Number.isNaN(value.getTime())) return "—";
  return new Intl.DateTimeFormat(locale(), { dateStyle: "short", timeStyle: "short" }).format(value);
}

export function percent(fraction) {
  return Math.round(Math.max(0, Math.min(1, fraction || 0)) * 100);
}
