/** The Job section: the notebook's typed parameters, "make this notebook a job", running it
 * with edited values, and the executions' progress, log and cancel button. Executions are
 * polled only while one is running; polling changes the executions only, never the inputs. */
import React, { useEffect, useRef, useState } from 'react';

import { api, ExecutionReply, JobParameter, JobReply } from './api';
import { Button, Empty, ErrorBox, ResourceView, Section, useResource } from './components';
import { convertParameter, declaration, parameterText } from './forms';
import { errorMessage } from './resource';

const ENDED = new Set(['FINISHED', 'FAILED', 'KILLED']);

export function isRunning(execution: ExecutionReply): boolean {
  return !ENDED.has(execution.status);
}

interface JobState {
  job: JobReply;
  executions: ExecutionReply[];
}

export interface JobProps {
  notebook: string | null;
  refresh: number;
  pollInterval: number;
  /** The notebook file changed on disk (POST jobs wrote its contract): reload it. */
  notebookRewritten: () => Promise<string>;
  jobEnded: () => void;
  jobLoaded: (model: string | null) => void;
}

/** Under the buttons: what the last action said. */
type Message =
  | { kind: 'success' | 'invalid'; text: string }
  | { kind: 'error'; text: string; retry?: () => void };

export function JobSection(props: JobProps): React.ReactElement {
  const { notebook, jobLoaded } = props;
  const resource = useResource<JobState>(
    notebook
      ? async () => {
          const [job, listing] = await Promise.all([
            api.getJob(notebook),
            api.listExecutions(notebook)
          ]);
          return { job, executions: listing.executions };
        }
      : null,
    notebook ?? '',
    props.refresh
  );
  const model = resource.state.data?.job.model;
  useEffect(() => {
    if (model !== undefined) {
      jobLoaded(model);
    }
  }, [model, jobLoaded]);
  return (
    <Section title="Job" className="jp-mlops-job">
      {notebook === null ? (
        <Empty>Open a notebook to run it as a job.</Empty>
      ) : (
        <ResourceView resource={resource} what="the job">
          {state => (
            <Job
              {...props}
              notebook={notebook}
              state={state}
              update={resource.update}
              reload={resource.reload}
              loading={resource.state.loading}
            />
          )}
        </ResourceView>
      )}
    </Section>
  );
}

function Job(
  props: JobProps & {
    notebook: string;
    state: JobState;
    update: (change: (state: JobState) => JobState) => void;
    reload: () => void;
    loading: boolean;
  }
): React.ReactElement {
  const { notebook, state, update, reload, pollInterval, jobEnded } = props;
  const { job, executions } = state;
  // What the user typed, by parameter name; a parameter not typed shows its default.
  const [typed, setTyped] = useState<Record<string, string | boolean>>({});
  const [message, setMessage] = useState<Message | null>(null);
  const [polling, setPolling] = useState(true);

  // a reload (Retry, Refresh) brings fresh executions: look at the running ones again
  useEffect(() => {
    if (!props.loading) {
      setPolling(true);
      setMessage(current => (current?.kind === 'error' && current.retry ? null : current));
    }
  }, [props.loading]);

  const runningKey = executions
    .filter(isRunning)
    .map(e => e.id)
    .join(',');
  const latest = useRef({ jobEnded });
  latest.current = { jobEnded };

  // Look at the running executions once per interval, only while one runs (and not while the
  // section reloads: its reply brings fresh executions).
  useEffect(() => {
    if (!runningKey || !polling || props.loading) {
      return;
    }
    let cancelled = false;
    const timer = window.setTimeout(async () => {
      try {
        const replies = await Promise.all(runningKey.split(',').map(id => api.getExecution(id)));
        if (cancelled) {
          return;
        }
        const byId = new Map(replies.map(r => [r.id, r]));
        update(current => ({
          ...current,
          executions: current.executions.map(e => byId.get(e.id) ?? e)
        }));
        if (replies.some(r => !isRunning(r))) {
          latest.current.jobEnded();
        }
      } catch (error) {
        if (!cancelled) {
          setPolling(false);
          setMessage({ kind: 'error', text: errorMessage(error), retry: reload });
        }
      }
    }, pollInterval);
    return () => {
      cancelled = true;
      window.clearTimeout(timer);
    };
    // `executions` changes after each poll: the next look is scheduled from there
  }, [runningKey, executions, polling, props.loading, pollInterval, update, reload]);

  const valueOf = (p: JobParameter): string | boolean => {
    if (p.name in typed) {
      return typed[p.name];
    }
    if (p.type === 'bool') {
      return p.default === true;
    }
    return p.expression ? '' : parameterText(p.default);
  };

  const make = async (): Promise<void> => {
    try {
      const saved = await api.saveJob({
        notebook,
        parameters: job.parameters.filter(p => p.expression === null).map(declaration)
      });
      const reloaded = await props.notebookRewritten();
      update(current => ({ ...current, job: saved }));
      setTyped({}); // a new contract: its own defaults
      setMessage({ kind: 'success', text: `${saved.changes.join('; ')}. ${reloaded}` });
    } catch (error) {
      setMessage({ kind: 'error', text: errorMessage(error) });
    }
  };

  const values = (): Record<string, unknown> | null => {
    const errors: string[] = [];
    const result: Record<string, unknown> = {};
    for (const p of job.parameters) {
      const value = valueOf(p);
      if (typeof value === 'boolean') {
        result[p.name] = value;
        continue;
      }
      if (p.expression !== null && value.trim() === '') {
        continue; // the notebook computes it
      }
      const converted = convertParameter(p, value);
      if (converted.ok) {
        result[p.name] = converted.value;
      } else {
        errors.push(converted.error);
      }
    }
    if (errors.length) {
      setMessage({ kind: 'invalid', text: errors.join('; ') });
      return null;
    }
    return result;
  };

  const run = async (): Promise<void> => {
    const parameters = values();
    if (parameters === null) {
      return;
    }
    try {
      const started = await api.startExecution({ notebook, parameters });
      update(current => ({ ...current, executions: [started, ...current.executions] }));
      setMessage(null);
      setPolling(true);
    } catch (error) {
      setMessage({ kind: 'error', text: errorMessage(error) });
    }
  };

  const cancel = async (id: string): Promise<void> => {
    try {
      const reply = await api.cancelExecution(id);
      update(current => ({
        ...current,
        executions: current.executions.map(e => (e.id === reply.id ? reply : e))
      }));
    } catch (error) {
      setMessage({ kind: 'error', text: errorMessage(error) });
    }
  };

  return (
    <>
      <div className="jp-mlops-muted">
        {job.declared
          ? `Job "${job.name}"${job.model ? ` registers ${job.model}` : ''}: ${job.parameters.length} typed parameter(s).`
          : 'Not a job yet: these parameters were read from the notebook’s parameters cell.'}
      </div>
      <Parameters
        parameters={job.parameters}
        valueOf={valueOf}
        change={(name, value) => setTyped(current => ({ ...current, [name]: value }))}
      />
      <div className="jp-mlops-form-actions">
        {job.declared ? (
          <Button label="Run job" onClick={() => void run()} className="jp-mlops-job-run" accept />
        ) : (
          <Button
            label="Make this notebook a job"
            onClick={() => void make()}
            className="jp-mlops-job-make"
            accept
          />
        )}
      </div>
      {message?.kind === 'success' ? <div className="jp-mlops-success">{message.text}</div> : null}
      {message?.kind === 'invalid' ? (
        <div className="jp-mlops-form-error">{message.text}</div>
      ) : null}
      {message?.kind === 'error' ? <ErrorBox message={message.text} retry={message.retry} /> : null}
      {job.notes.map(note => (
        <div key={note} className="jp-mlops-warning">
          {note}
        </div>
      ))}
      {executions.map(e => (
        <Execution key={e.id} execution={e} cancel={() => void cancel(e.id)} />
      ))}
    </>
  );
}

function Parameters(props: {
  parameters: JobParameter[];
  valueOf: (p: JobParameter) => string | boolean;
  change: (name: string, value: string | boolean) => void;
}): React.ReactElement {
  if (!props.parameters.length) {
    return (
      <Empty>
        No parameters: tag a cell of plain assignments "parameters" to give the job typed inputs.
      </Empty>
    );
  }
  return (
    <table className="jp-mlops-job-params">
      <thead>
        <tr>
          <th>name</th>
          <th>type</th>
          <th>value</th>
          <th>help</th>
        </tr>
      </thead>
      <tbody>
        {props.parameters.map(p => {
          const value = props.valueOf(p);
          return (
            <tr key={p.name} title={p.help}>
              <td>
                <code>{p.name}</code>
              </td>
              <td>{p.type + (p.nullable ? ' | None' : '')}</td>
              <td>
                {typeof value === 'boolean' ? (
                  <input
                    type="checkbox"
                    className="jp-mlops-job-param"
                    data-name={p.name}
                    aria-label={p.name}
                    checked={value}
                    onChange={event => props.change(p.name, event.target.checked)}
                  />
                ) : (
                  <input
                    className="jp-mod-styled jp-mlops-job-param"
                    data-name={p.name}
                    aria-label={p.name}
                    value={value}
                    placeholder={p.expression ? `= ${p.expression}` : ''}
                    onChange={event => props.change(p.name, event.target.value)}
                  />
                )}
              </td>
              <td className="jp-mlops-muted">{p.help}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function Execution(props: { execution: ExecutionReply; cancel: () => void }): React.ReactElement {
  const e = props.execution;
  return (
    <div className="jp-mlops-execution" data-status={e.status} data-id={e.id}>
      <div className="jp-mlops-run-line">
        <span className={`jp-mlops-status jp-mlops-status-${e.status.toLowerCase()}`}>
          {e.status}
        </span>
        <span>{`${e.job_name} · cells ${e.cells_done}/${e.cells_total || '?'}`}</span>
        {isRunning(e) ? (
          <Button label="Cancel" onClick={props.cancel} className="jp-mlops-execution-cancel" />
        ) : null}
      </div>
      <progress
        className="jp-mlops-execution-progress"
        max={Math.max(e.cells_total, 1)}
        value={e.cells_done}
      />
      {e.message ? (
        <div className={e.status === 'FINISHED' ? 'jp-mlops-muted' : 'jp-mlops-warning'}>
          {e.message}
        </div>
      ) : null}
      {e.run_id ? (
        <div className="jp-mlops-muted">
          job run <code>{e.run_id}</code>
        </div>
      ) : null}
      <pre className="jp-mlops-log">{e.log_tail.join('\n')}</pre>
    </div>
  );
}
