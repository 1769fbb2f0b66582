/**
 * The REST contract of the server extension, mirrored field for field from
 * `src/jupyter_mlops/core/types.py` (tests/server/test_server_contract.py compares the two),
 * and one typed function per route (the forms' helpers are in forms.ts).
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
  failed_jobs: string[];
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
  listRuns: (
    notebook: string,
    page: { limit?: number; pageToken?: string | null } = {},
    s?: Settings
  ) =>
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
