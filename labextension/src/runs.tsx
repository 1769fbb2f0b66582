/** The Runs section: this notebook's runs, newest first, a run's details and the form that
 * registers the model logged on a run. */
import React, { useEffect, useState } from 'react';

import { api, RunDetailReply, RunPageReply, RunSummary } from './api';
import {
  Button,
  Empty,
  ErrorBox,
  KeyValues,
  Loading,
  ResourceView,
  Section,
  useResource
} from './components';
import {
  formatDuration,
  formatTime,
  RegisterFields,
  registerBody,
  validateRegisterForm
} from './forms';
import { errorMessage } from './resource';

export interface RunsProps {
  notebook: string | null;
  /** Changes when the runs may have changed (a refresh, a %%mlops cell, a job ended). */
  refresh: number;
  pageSize: number;
  recheckInterval: number;
  defaultModelName: string;
  scrollToCell: (cellId: string) => void;
  modelsChanged: () => void;
}

export function RunsSection(props: RunsProps): React.ReactElement {
  const { notebook, pageSize, recheckInterval } = props;
  const runs = useResource<RunPageReply>(
    notebook ? () => api.listRuns(notebook, { limit: pageSize }) : null,
    notebook ?? '',
    props.refresh
  );
  const [openRun, setOpenRun] = useState<string | null>(null);
  const [moreError, setMoreError] = useState<string | null>(null);
  const { data, loading } = runs.state;
  const { reload } = runs;

  // A run still RUNNING (a cell in progress, a job's child) is looked at again until none is:
  // the only polling of runs, and only while something runs.
  const running = !loading && !!data?.runs.some(run => run.status === 'RUNNING');
  useEffect(() => {
    if (!running) {
      return;
    }
    const timer = window.setTimeout(reload, recheckInterval);
    return () => window.clearTimeout(timer);
  }, [running, data, reload, recheckInterval]);

  const more = async (): Promise<void> => {
    if (!notebook || !data?.next_page_token) {
      return;
    }
    try {
      const page = await api.listRuns(notebook, {
        limit: pageSize,
        pageToken: data.next_page_token
      });
      setMoreError(null);
      runs.update(current => ({ ...page, runs: [...current.runs, ...page.runs] }));
    } catch (error) {
      setMoreError(errorMessage(error));
    }
  };

  return (
    <Section title="Runs" className="jp-mlops-runs">
      {notebook === null ? (
        <Empty>Open a notebook to see its runs.</Empty>
      ) : (
        <ResourceView resource={runs} what="runs">
          {page =>
            page.runs.length ? (
              <>
                <ul className="jp-mlops-run-list">
                  {page.runs.map(run => (
                    <React.Fragment key={run.run_id}>
                      <RunRow
                        run={run}
                        selected={run.run_id === openRun}
                        toggle={() => setOpenRun(openRun === run.run_id ? null : run.run_id)}
                      />
                      {run.run_id === openRun ? (
                        <li className="jp-mlops-run-details-item">
                          <RunDetails {...props} notebook={notebook} runId={run.run_id} />
                        </li>
                      ) : null}
                    </React.Fragment>
                  ))}
                </ul>
                {page.next_page_token ? (
                  <Button label="Load more" onClick={() => void more()} className="jp-mlops-more" />
                ) : null}
                {moreError !== null ? <ErrorBox message={moreError} /> : null}
              </>
            ) : (
              <Empty>
                No runs recorded from this notebook yet: run a cell that starts with %%mlops run.
              </Empty>
            )
          }
        </ResourceView>
      )}
    </Section>
  );
}

function RunRow(props: {
  run: RunSummary;
  selected: boolean;
  toggle: () => void;
}): React.ReactElement {
  const { run } = props;
  const keys = run.key_params.length ? run.key_params : Object.keys(run.params).slice(0, 3);
  const metricKeys = run.key_metrics.length
    ? run.key_metrics
    : Object.keys(run.metrics).slice(0, 3);
  const params = keys.filter(k => k in run.params).map(k => `${k}=${run.params[k]}`);
  const metrics = metricKeys
    .filter(k => k in run.metrics)
    .map(k => `${k}=${run.metrics[k].toPrecision(4)}`);
  return (
    <li
      className={`jp-mlops-run-row${props.selected ? ' jp-mod-selected' : ''}`}
      data-run-id={run.run_id}
      tabIndex={0}
      title="Show details"
      onClick={props.toggle}
      onKeyDown={event => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          props.toggle();
        }
      }}
    >
      <div className="jp-mlops-run-line">
        <span className={`jp-mlops-status jp-mlops-status-${run.status.toLowerCase()}`}>
          {run.status}
        </span>
        <span className="jp-mlops-run-name">{run.name}</span>
        {run.has_model ? (
          <span className="jp-mlops-badge" title="a model is logged with this run">
            model
          </span>
        ) : null}
        <span className="jp-mlops-muted">{`${formatTime(run.start_time)} · ${formatDuration(run.duration_s)}`}</span>
      </div>
      {params.length || metrics.length ? (
        <div className="jp-mlops-run-values jp-mlops-muted">
          {[...params, ...metrics].join('  ')}
        </div>
      ) : null}
    </li>
  );
}

function RunDetails(props: RunsProps & { notebook: string; runId: string }): React.ReactElement {
  const { notebook, runId } = props;
  const details = useResource<RunDetailReply>(
    () => api.getRun(runId, notebook),
    runId,
    props.refresh
  );
  return (
    <div className="jp-mlops-run-details">
      <ResourceView resource={details} what="run details">
        {run => <RunFacts {...props} run={run} />}
      </ResourceView>
    </div>
  );
}

function RunFacts(
  props: RunsProps & { notebook: string; run: RunDetailReply }
): React.ReactElement {
  const { run } = props;
  const [registering, setRegistering] = useState(false);
  const cellId = run.cell_id;
  const metrics = Object.fromEntries(
    Object.entries(run.metrics).map(([k, v]) => [k, v.toPrecision(6)])
  );
  return (
    <>
      <dl className="jp-mlops-facts">
        <dt>run id</dt>
        <dd>
          <code>{run.run_id}</code>
        </dd>
        <dt>commit</dt>
        <dd>{run.commit ? <code>{run.commit.slice(0, 12)}</code> : 'not in git'}</dd>
        {cellId ? (
          <>
            <dt>cell</dt>
            <dd>
              <a
                className="jp-mlops-cell-link"
                href="#"
                title="Scroll the notebook to this cell"
                onClick={event => {
                  event.preventDefault();
                  props.scrollToCell(cellId);
                }}
              >
                {cellId}
              </a>
            </dd>
          </>
        ) : null}
        {run.mlflow_url ? (
          <>
            <dt>MLflow</dt>
            <dd>
              <a
                className="jp-mlops-mlflow-link"
                href={run.mlflow_url}
                target="_blank"
                rel="noopener noreferrer"
              >
                Open in MLflow
              </a>
            </dd>
          </>
        ) : null}
      </dl>
      <h4>Params</h4>
      <KeyValues values={run.params} />
      <h4>Metrics</h4>
      <KeyValues values={metrics} />
      <h4>Datasets</h4>
      {run.datasets.length ? (
        <table className="jp-mlops-datasets">
          <thead>
            <tr>
              <th>name</th>
              <th>use</th>
              <th>rows</th>
              <th>fingerprint</th>
            </tr>
          </thead>
          <tbody>
            {run.datasets.map((d, i) => (
              <tr key={`${d.name}-${d.context ?? ''}-${i}`}>
                <td>{d.name}</td>
                <td>{d.context ?? ''}</td>
                <td>{d.rows === null ? '' : String(d.rows)}</td>
                <td title={d.digest}>
                  <code>{d.digest.slice(0, 16)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <Empty>no datasets recorded</Empty>
      )}
      {run.has_model ? (
        <div className="jp-mlops-register">
          {registering ? (
            <RegisterForm {...props} />
          ) : (
            <Button
              label="Register…"
              onClick={() => setRegistering(true)}
              className="jp-mlops-register-open"
              accept
            />
          )}
        </div>
      ) : (
        <Empty>
          No model logged with this run: add --log-model VAR to its %%mlops run line to register it
          from here.
        </Empty>
      )}
    </>
  );
}

type Sent =
  | { state: 'idle' }
  | { state: 'sending' }
  | { state: 'done'; summary: string; warnings: string[] }
  | { state: 'failed'; message: string };

function RegisterForm(
  props: RunsProps & { notebook: string; run: RunDetailReply }
): React.ReactElement {
  const { run, notebook } = props;
  const [fields, setFields] = useState<RegisterFields>({
    name: props.defaultModelName,
    alias: 'champion',
    owner: '',
    purpose: '',
    risk_tier: ''
  });
  const [errors, setErrors] = useState<Partial<Record<keyof RegisterFields, string>>>({});
  const [sent, setSent] = useState<Sent>({ state: 'idle' });
  const set =
    (name: keyof RegisterFields) =>
    (event: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) =>
      setFields({ ...fields, [name]: event.target.value });

  const submit = (event: React.FormEvent): void => {
    event.preventDefault();
    const problems = validateRegisterForm(fields);
    setErrors(problems);
    if (Object.keys(problems).length) {
      return;
    }
    setSent({ state: 'sending' });
    api
      .registerVersion(fields.name.trim(), registerBody(run.run_id, fields), notebook)
      .then(reply => {
        setSent({ state: 'done', summary: reply.summary, warnings: reply.warnings });
        props.modelsChanged();
      })
      .catch(error => setSent({ state: 'failed', message: errorMessage(error) }));
  };

  const input = (
    name: keyof RegisterFields,
    label: string,
    placeholder = ''
  ): React.ReactElement => (
    <label className="jp-mlops-field">
      <span>{label}</span>
      <input
        className="jp-mod-styled"
        name={name}
        value={fields[name]}
        placeholder={placeholder}
        onChange={set(name)}
      />
      <span className="jp-mlops-form-error" data-field={name}>
        {errors[name] ?? ''}
      </span>
    </label>
  );

  return (
    <form className="jp-mlops-register-form" onSubmit={submit}>
      {input('name', 'Model name')}
      {input('alias', 'Alias', 'champion, challenger…')}
      {input('owner', 'Owner', 'accountable team')}
      {input('purpose', 'Purpose', 'what the model is for')}
      <label className="jp-mlops-field">
        <span>Risk tier</span>
        <select
          className="jp-mod-styled"
          name="risk_tier"
          value={fields.risk_tier}
          onChange={set('risk_tier')}
        >
          <option value="">—</option>
          <option value="1">1 (highest)</option>
          <option value="2">2</option>
          <option value="3">3</option>
        </select>
        <span className="jp-mlops-form-error" data-field="risk_tier">
          {errors.risk_tier ?? ''}
        </span>
      </label>
      <div className="jp-mlops-form-actions">
        <button
          className="jp-Button jp-mod-styled jp-mod-accept jp-mlops-register-submit"
          type="submit"
          disabled={sent.state === 'sending'}
        >
          Register
        </button>
      </div>
      <div className="jp-mlops-form-status">
        {sent.state === 'sending' ? <Loading what="registration" /> : null}
        {sent.state === 'done' ? (
          <>
            <div className="jp-mlops-success">{sent.summary}</div>
            {sent.warnings.map(w => (
              <div key={w} className="jp-mlops-warning">
                {w}
              </div>
            ))}
          </>
        ) : null}
        {sent.state === 'failed' ? <ErrorBox message={sent.message} /> : null}
      </div>
    </form>
  );
}
