/**
 * The REST contract of the server extension, mirrored field for field from
 * `src/jupyter_mlops/server/contract.py` (tests/test_server_contract.py compares the two),
 * one typed function per route, and the pure helpers the forms use.
 */
import { ServerConnection } from '@jupyterlab/services';

import { endpointWithQuery, requestAPI, segment } from './request';

export interface ErrorReply {
  error: string;
  message: string;
}

export interface ConfigReply {
  notebook: string | null;
  tracking_uri: string;
  tracking_uri_source: string;
  experiment: string;
  experiment_source: string;
  project_root: string;
  store_exists: boolean;
  mlflow_ui_url: string | null;
}

export interface RunSummary {
  run_id: string;
  name: string;
  status: string;
  start_time: string | null;
  end_time: string | null;
  duration_s: number | null;
  params: Record<string, string>;
  metrics: Record<string, number>;
  key_params: string[];
  key_metrics: string[];
  cell_id: string | null;
  job_name: string | null;
  has_model: boolean;
}

export interface RunPageReply {
  notebook: string | null;
  experiment: string;
  runs: RunSummary[];
  next_page_token: string | null;
}

export interface DatasetEntry {
  name: string;
  context: string | null;
  digest: string;
  rows: number | null;
  columns: number | null;
}

export interface ArtifactEntry {
  path: string;
  is_dir: boolean;
  size: number | null;
}

export interface RunDetailReply extends RunSummary {
  experiment_id: string;
  tags: Record<string, string>;
  datasets: DatasetEntry[];
  artifacts: ArtifactEntry[];
  lineage: Record<string, string>;
  notebook: string | null;
  commit: string | null;
  mlflow_url: string | null;
}

export interface ModelRow {
  name: string;
  latest_version: string | null;
  aliases: Record<string, string>;
  owner: string | null;
  purpose: string | null;
  risk_tier: string | null;
  training_data: Record<string, string>;
  source_notebook: string | null;
  source_cell: string | null;
  source_run_id: string | null;
  registered: string | null;
  key_metrics: Record<string, number>;
  validation: string;
  missing: string[];
}

export interface ModelListReply {
  notebook: string | null;
  models: ModelRow[];
}

export interface ModelVersionEntry {
  version: string;
  run_id: string | null;
  status: string;
  created: string | null;
  aliases: string[];
  source_notebook: string | null;
  source_cell: string | null;
  validation: string;
  metrics: Record<string, number>;
}

export interface LedgerEntry {
  time: string;
  actor: string;
  model: string;
  alias: string;
  from_version: string | null;
  to_version: string;
  reason: string;
  action: string;
}

export interface ModelDetailReply {
  name: string;
  description: string;
  owner: string | null;
  purpose: string | null;
  risk_tier: string | null;
  aliases: Record<string, string>;
  versions: ModelVersionEntry[];
  ledger: LedgerEntry[];
}

export interface LineageNode {
  kind: string;
  id: string;
  attributes: Record<string, unknown>;
}

export interface LineageEdge {
  kind: string;
  source: string;
  target: string;
}

export interface LineageReply {
  schema: string;
  root: string;
  nodes: LineageNode[];
  edges: LineageEdge[];
}

export interface RegisterRequest {
  run_id: string;
  alias?: string | null;
  owner?: string | null;
  purpose?: string | null;
  risk_tier?: string | null;
  reason?: string | null;
}

export interface RegisterReply {
  name: string;
  version: string;
  run_id: string;
  model_uri: string;
  alias: LedgerEntry | null;
  summary: string;
  warnings: string[];
}

export interface JobParameter {
  name: string;
  type: string;
  default: unknown;
  nullable: boolean;
  help: string;
  expression: string | null;
}

export interface JobReply {
  notebook: string;
  declared: boolean;
  name: string;
  experiment: string | null;
  model: string | null;
  parameters_cell: string | null;
  parameters: JobParameter[];
  notes: string[];
  changes: string[];
}

export interface JobRequest {
  notebook: string;
  name?: string | null;
  model?: string | null;
  experiment?: string | null;
  parameters?: string[];
}

export type ExecutionStatus = 'STARTING' | 'RUNNING' | 'FINISHED' | 'FAILED' | 'KILLED';

export interface ExecutionRequest {
  notebook: string;
  parameters?: Record<string, unknown>;
  timeout?: number | null;
}

export interface ExecutionReply {
  id: string;
  notebook: string;
  job_name: string;
  status: ExecutionStatus;
  outcome: string | null;
  message: string;
  cells_done: number;
  cells_total: number;
  run_id: string | null;
  child_run_ids: string[];
  parameters: Record<string, unknown>;
  started: string;
  ended: string | null;
  log_tail: string[];
  output: string | null;
}

export interface ExecutionListReply {
  executions: ExecutionReply[];
}

// -- one function per route ------------------------------------------------------------------

type Settings = ServerConnection.ISettings | undefined;

function json(method: string, body: unknown): RequestInit {
  return { method, body: JSON.stringify(body) };
}

export const api = {
  getConfig: (notebook: string, s?: Settings) =>
    requestAPI<ConfigReply>(endpointWithQuery('config', { notebook }), {}, s),
  listRuns: (notebook: string, page: { limit?: number; pageToken?: string | null } = {}, s?: Settings) =>
    requestAPI<RunPageReply>(
      endpointWithQuery('runs', { notebook, limit: page.limit, page_token: page.pageToken }),
      {},
      s
    ),
  getRun: (runId: string, notebook: string, s?: Settings) =>
    requestAPI<RunDetailReply>(endpointWithQuery(`runs/${segment(runId)}`, { notebook }), {}, s),
  listModels: (notebook: string, s?: Settings) =>
    requestAPI<ModelListReply>(endpointWithQuery('models', { notebook }), {}, s),
  getModel: (name: string, notebook: string, s?: Settings) =>
    requestAPI<ModelDetailReply>(endpointWithQuery(`models/${segment(name)}`, { notebook }), {}, s),
  getLineage: (model: string, ref: string, notebook: string, s?: Settings) =>
    requestAPI<LineageReply>(endpointWithQuery('lineage', { model, ref, notebook }), {}, s),
  registerVersion: (name: string, body: RegisterRequest, notebook: string, s?: Settings) =>
    requestAPI<RegisterReply>(
      endpointWithQuery(`models/${segment(name)}/versions`, { notebook }),
      json('POST', body),
      s
    ),
  getJob: (notebook: string, s?: Settings) =>
    requestAPI<JobReply>(endpointWithQuery('jobs', { notebook }), {}, s),
  saveJob: (body: JobRequest, s?: Settings) => requestAPI<JobReply>('jobs', json('POST', body), s),
  startExecution: (body: ExecutionRequest, s?: Settings) =>
    requestAPI<ExecutionReply>('jobs/executions', json('POST', body), s),
  listExecutions: (notebook: string, s?: Settings) =>
    requestAPI<ExecutionListReply>(endpointWithQuery('jobs/executions', { notebook }), {}, s),
  getExecution: (id: string, s?: Settings) =>
    requestAPI<ExecutionReply>(`jobs/executions/${segment(id)}`, {}, s),
  cancelExecution: (id: string, s?: Settings) =>
    requestAPI<ExecutionReply>(`jobs/executions/${segment(id)}`, { method: 'DELETE' }, s)
};

// -- pure helpers (unit-tested) ---------------------------------------------------------------

/** The register form's fields, as typed. */
export interface RegisterFields {
  name: string;
  alias: string;
  owner: string;
  purpose: string;
  risk_tier: string;
}

/** Field name -> problem; empty when the form can be sent (the server checks again). */
export function validateRegisterForm(fields: RegisterFields): Partial<Record<keyof RegisterFields, string>> {
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

export function convertParameter(param: Pick<JobParameter, 'name' | 'type' | 'nullable'>, text: string): Converted {
  const raw = text.trim();
  const fail = (what: string): Converted => ({ ok: false, error: `${param.name}: ${what}` });
  if (param.nullable && (raw === '' || raw === 'null' || raw === 'None')) {
    return { ok: true, value: null };
  }
  switch (param.type) {
    case 'int':
      return /^[+-]?\d+$/.test(raw) ? { ok: true, value: Number(raw) } : fail(`"${raw}" is not an integer`);
    case 'float': {
      const value = Number(raw);
      return raw !== '' && Number.isFinite(value) ? { ok: true, value } : fail(`"${raw}" is not a number`);
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
export function declaration(param: Pick<JobParameter, 'name' | 'type' | 'nullable' | 'default'>): string {
  const type = param.type === 'any' ? '' : `:${param.type}${param.nullable ? '?' : ''}`;
  const value = param.default;
  let text: string;
  if (value === null || value === undefined) text = 'null';
  else if (typeof value === 'boolean') text = value ? 'True' : 'False';
  else if (typeof value === 'string' && param.type !== 'date' && param.type !== 'datetime') text = JSON.stringify(value);
  else if (typeof value === 'string') text = value;
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
