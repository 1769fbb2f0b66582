/**
 * Pure helpers of the panel's forms (unit-tested): register-form validation, job parameter
 * conversion and declarations, and how times and durations are shown.
 */
import { JobParameter, RegisterRequest } from './api';

/** The register form's fields, as typed. */
export interface RegisterFields {
  name: string;
  alias: string;
  owner: string;
  purpose: string;
  risk_tier: string;
}

/** Field name -> problem; empty when the form can be sent (the server checks again). */
export function validateRegisterForm(
  fields: RegisterFields
): Partial<Record<keyof RegisterFields, string>> {
  const errors: Partial<Record<keyof RegisterFields, string>> = {};
  const name = fields.name.trim();
  if (!name) {
    errors.name = 'a model name is required';
  } else if (/[/:%]/.test(name) || name !== fields.name || name.length > 256) {
    errors.name = 'no "/", ":", "%" or surrounding spaces, at most 256 characters';
  }
  const alias = fields.alias.trim();
  if (alias) {
    if (!/^[A-Za-z0-9_-]{1,255}$/.test(alias)) {
      errors.alias = 'letters, digits, "_" and "-" only';
    } else if (alias.toLowerCase() === 'latest' || /^v\d+$/i.test(alias)) {
      errors.alias = `"${alias}" is reserved by MLflow`;
    }
  }
  for (const key of ['owner', 'purpose'] as const) {
    if (fields[key] !== '' && !fields[key].trim()) {
      errors[key] = `the ${key} must not be blank`;
    }
  }
  if (fields.risk_tier && !['1', '2', '3'].includes(fields.risk_tier)) {
    errors.risk_tier = 'the risk tier is 1, 2 or 3 (1 = highest risk)';
  }
  return errors;
}

/** The request body for a validated form (empty fields left out). */
export function registerBody(runId: string, fields: RegisterFields): RegisterRequest {
  const body: RegisterRequest = { run_id: runId };
  if (fields.alias.trim()) body.alias = fields.alias.trim();
  if (fields.owner.trim()) body.owner = fields.owner.trim();
  if (fields.purpose.trim()) body.purpose = fields.purpose.trim();
  if (fields.risk_tier) body.risk_tier = fields.risk_tier;
  return body;
}

/** A parameter's value typed in a text box, converted to the JSON the server expects. */
export type Converted = { ok: true; value: unknown } | { ok: false; error: string };

export function convertParameter(
  param: Pick<JobParameter, 'name' | 'type' | 'nullable'>,
  text: string
): Converted {
  const raw = text.trim();
  const fail = (what: string): Converted => ({ ok: false, error: `${param.name}: ${what}` });
  if (param.nullable && (raw === '' || raw === 'null' || raw === 'None')) {
    return { ok: true, value: null };
  }
  switch (param.type) {
    case 'int':
      return /^[+-]?\d+$/.test(raw)
        ? { ok: true, value: Number(raw) }
        : fail(`"${raw}" is not an integer`);
    case 'float': {
      const value = Number(raw);
      return raw !== '' && Number.isFinite(value)
        ? { ok: true, value }
        : fail(`"${raw}" is not a number`);
    }
    case 'bool': {
      const lower = raw.toLowerCase();
      if (['true', '1', 'yes'].includes(lower)) return { ok: true, value: true };
      if (['false', '0', 'no'].includes(lower)) return { ok: true, value: false };
      return fail(`"${raw}" is not true or false`);
    }
    case 'str':
      return { ok: true, value: text };
    case 'list':
    case 'dict': {
      try {
        const value: unknown = JSON.parse(raw);
        const isList = Array.isArray(value);
        const isDict = typeof value === 'object' && value !== null && !isList;
        if ((param.type === 'list' && isList) || (param.type === 'dict' && isDict)) {
          return { ok: true, value };
        }
      } catch {
        /* reported below */
      }
      return fail(`"${raw}" is not a JSON ${param.type === 'list' ? 'list' : 'object'}`);
    }
    case 'date':
      return /^\d{4}-\d{2}-\d{2}$/.test(raw) && !Number.isNaN(Date.parse(raw))
        ? { ok: true, value: raw }
        : fail(`"${raw}" is not a date (YYYY-MM-DD)`);
    case 'datetime':
      return /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(raw) && !Number.isNaN(Date.parse(raw))
        ? { ok: true, value: raw }
        : fail(`"${raw}" is not a date and time (YYYY-MM-DDTHH:MM)`);
    default: {
      if (raw === '') return { ok: true, value: '' };
      try {
        return { ok: true, value: JSON.parse(raw) as unknown };
      } catch {
        return { ok: true, value: text };
      }
    }
  }
}

/** How a parameter's default is shown in its text box. */
export function parameterText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** The declaration `NAME:TYPE=DEFAULT` that `POST jobs` takes for one parameter. */
export function declaration(
  param: Pick<JobParameter, 'name' | 'type' | 'nullable' | 'default'>
): string {
  const type = param.type === 'any' ? '' : `:${param.type}${param.nullable ? '?' : ''}`;
  const value = param.default;
  let text: string;
  if (value === null || value === undefined) text = 'null';
  else if (typeof value === 'boolean') text = value ? 'True' : 'False';
  else if (typeof value === 'string' && param.type === 'any') text = JSON.stringify(value);
  else if (typeof value === 'string')
    text = value; // str and dates: parse_declaration takes the text as it is
  else text = JSON.stringify(value);
  return `${param.name}${type}=${text}`;
}

/** `12.3s`, `4m05s`, `2h03m`; empty when unknown. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || seconds === undefined) return '';
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const minutes = Math.floor(seconds / 60);
  const rest = Math.floor(seconds % 60);
  if (minutes < 60) return `${minutes}m${String(rest).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** An ISO time as `YYYY-MM-DD HH:MM` in the browser's time zone. */
export function formatTime(iso: string | null): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
}
