/** The Job section: the notebook's typed parameters, "make this notebook a job", running it
 * with edited values, and the executions' progress, log and cancel button. Executions are
 * polled only while one is running. */
import { api, ExecutionReply, JobParameter, JobReply } from './api';
import { convertParameter, declaration, parameterText } from './forms';
import { button, empty, errorBox, h, loading, Section } from './dom';

export interface JobsHost {
  notebook(): string | null;
  /** The notebook file changed on disk (POST jobs wrote its contract): reload it. */
  notebookRewritten(): Promise<string>;
  jobEnded(): void;
  jobLoaded(model: string | null): void;
}

const POLL_MS = 1000;
const ENDED = new Set(['FINISHED', 'FAILED', 'KILLED']);

export class JobsSection {
  readonly section = new Section('Job', 'jp-mlops-job');
  private job: JobReply | null = null;
  private executions: ExecutionReply[] = [];
  private timer: number | null = null;
  private generation = 0;
  private message: Node | null = null;

  constructor(private readonly host: JobsHost) {}

  async refresh(): Promise<void> {
    const notebook = this.host.notebook();
    const generation = ++this.generation;
    this.stopPolling();
    if (!notebook) {
      this.section.show(empty('Open a notebook to run it as a job.'));
      return;
    }
    if (!this.job) this.section.show(loading('the job'));
    try {
      const [job, listing] = await Promise.all([api.getJob(notebook), api.listExecutions(notebook)]);
      if (generation !== this.generation) return;
      this.job = job;
      this.host.jobLoaded(job.model);
      this.executions = listing.executions;
      this.render();
      this.pollIfRunning();
    } catch (error) {
      if (generation === this.generation) this.section.show(errorBox(error, () => void this.refresh()));
    }
  }

  reset(): void {
    this.stopPolling();
    this.job = null;
    this.executions = [];
    this.message = null;
  }

  dispose(): void {
    this.stopPolling();
  }

  private render(): void {
    const job = this.job;
    if (!job) return;
    // polling re-renders every second: keep what the user typed into the parameter inputs
    const typed = new Map<string, string | boolean>();
    this.section.body.querySelectorAll<HTMLInputElement>('.jp-mlops-job-param').forEach(input => {
      typed.set(input.dataset.name ?? '', input.type === 'checkbox' ? input.checked : input.value);
    });
    const nodes: (Node | null)[] = [];
    nodes.push(
      h(
        'div',
        { class: 'jp-mlops-muted' },
        job.declared
          ? `Job "${job.name}"${job.model ? ` registers ${job.model}` : ''}: ${job.parameters.length} typed parameter(s).`
          : 'Not a job yet: these parameters were read from the notebook’s parameters cell.'
      )
    );
    nodes.push(this.table(job.parameters));
    const actions = h('div', { class: 'jp-mlops-form-actions' });
    if (!job.declared) {
      actions.append(button('Make this notebook a job', () => void this.make(), 'jp-mlops-job-make', true));
    } else {
      actions.append(button('Run job', () => void this.run(), 'jp-mlops-job-run', true));
    }
    nodes.push(actions, this.message);
    job.notes.forEach(note => nodes.push(h('div', { class: 'jp-mlops-warning' }, note)));
    nodes.push(...this.executions.map(e => this.execution(e)));
    this.section.show(...nodes);
    this.section.body.querySelectorAll<HTMLInputElement>('.jp-mlops-job-param').forEach(input => {
      const value = typed.get(input.dataset.name ?? '');
      if (typeof value === 'boolean') input.checked = value;
      else if (value !== undefined) input.value = value;
    });
  }

  private table(parameters: JobParameter[]): HTMLElement {
    if (!parameters.length) {
      return empty('No parameters: tag a cell of plain assignments "parameters" to give the job typed inputs.');
    }
    return h(
      'table',
      { class: 'jp-mlops-job-params' },
      h('thead', {}, h('tr', {}, h('th', {}, 'name'), h('th', {}, 'type'), h('th', {}, 'value'), h('th', {}, 'help'))),
      h(
        'tbody',
        {},
        ...parameters.map(p => {
          const input =
            p.type === 'bool'
              ? h('input', { type: 'checkbox', class: 'jp-mlops-job-param', dataset: { name: p.name }, checked: p.default === true })
              : h('input', { class: 'jp-mod-styled jp-mlops-job-param', dataset: { name: p.name }, value: p.expression ? '' : parameterText(p.default), placeholder: p.expression ? `= ${p.expression}` : '' });
          return h('tr', { title: p.help }, h('td', {}, h('code', {}, p.name)), h('td', {}, p.type + (p.nullable ? ' | None' : '')), h('td', {}, input), h('td', { class: 'jp-mlops-muted' }, p.help));
        })
      )
    );
  }

  private async make(): Promise<void> {
    const notebook = this.host.notebook();
    const job = this.job;
    if (!notebook || !job) return;
    try {
      const saved = await api.saveJob({ notebook, parameters: job.parameters.filter(p => p.expression === null).map(declaration) });
      const reloaded = await this.host.notebookRewritten();
      this.job = saved;
      this.host.jobLoaded(saved.model);
      this.section.body.replaceChildren(); // a new contract: its own defaults
      this.message = h('div', { class: 'jp-mlops-success' }, `${saved.changes.join('; ')}. ${reloaded}`);
    } catch (error) {
      this.message = errorBox(error);
    }
    this.render();
  }

  private values(): Record<string, unknown> | null {
    const errors: string[] = [];
    const values: Record<string, unknown> = {};
    for (const p of this.job?.parameters ?? []) {
      const input = this.section.body.querySelector<HTMLInputElement>(`.jp-mlops-job-param[data-name="${p.name}"]`);
      if (!input) continue;
      if (p.type === 'bool') {
        values[p.name] = input.checked;
        continue;
      }
      if (p.expression !== null && input.value.trim() === '') continue; // the notebook computes it
      const converted = convertParameter(p, input.value);
      if (converted.ok) values[p.name] = converted.value;
      else errors.push(converted.error);
    }
    if (errors.length) {
      this.message = h('div', { class: 'jp-mlops-form-error' }, errors.join('; '));
      this.render();
      return null;
    }
    return values;
  }

  private async run(): Promise<void> {
    const notebook = this.host.notebook();
    const values = this.values();
    if (!notebook || values === null) return;
    try {
      const started = await api.startExecution({ notebook, parameters: values });
      this.executions = [started, ...this.executions];
      this.message = null;
      this.render();
      this.pollIfRunning();
    } catch (error) {
      this.message = errorBox(error);
      this.render();
    }
  }

  private execution(e: ExecutionReply): HTMLElement {
    const running = !ENDED.has(e.status);
    return h(
      'div',
      { class: 'jp-mlops-execution', dataset: { status: e.status, id: e.id } },
      h(
        'div',
        { class: 'jp-mlops-run-line' },
        h('span', { class: `jp-mlops-status jp-mlops-status-${e.status.toLowerCase()}` }, e.status),
        h('span', {}, `${e.job_name} · cells ${e.cells_done}/${e.cells_total || '?'}`),
        running ? button('Cancel', () => void this.cancel(e.id), 'jp-mlops-execution-cancel') : null
      ),
      h('progress', { class: 'jp-mlops-execution-progress', max: String(Math.max(e.cells_total, 1)), value: String(e.cells_done) }),
      e.message ? h('div', { class: e.status === 'FINISHED' ? 'jp-mlops-muted' : 'jp-mlops-warning' }, e.message) : null,
      e.run_id ? h('div', { class: 'jp-mlops-muted' }, 'job run ', h('code', {}, e.run_id)) : null,
      h('pre', { class: 'jp-mlops-log' }, e.log_tail.join('\n'))
    );
  }

  private async cancel(id: string): Promise<void> {
    try {
      const reply = await api.cancelExecution(id);
      this.replace(reply);
    } catch (error) {
      this.message = errorBox(error);
      this.render();
    }
  }

  private replace(reply: ExecutionReply): void {
    this.executions = this.executions.map(e => (e.id === reply.id ? reply : e));
    this.render();
  }

  private pollIfRunning(): void {
    if (this.timer !== null || !this.executions.some(e => !ENDED.has(e.status))) return;
    this.timer = window.setTimeout(() => void this.poll(), POLL_MS);
  }

  private async poll(): Promise<void> {
    this.timer = null;
    const running = this.executions.filter(e => !ENDED.has(e.status));
    try {
      const replies = await Promise.all(running.map(e => api.getExecution(e.id)));
      let ended = false;
      for (const reply of replies) {
        ended = ended || ENDED.has(reply.status);
        this.executions = this.executions.map(e => (e.id === reply.id ? reply : e));
      }
      this.render();
      if (ended) this.host.jobEnded();
    } catch (error) {
      this.message = errorBox(error, () => void this.refresh());
      this.render();
      return;
    }
    this.pollIfRunning();
  }

  private stopPolling(): void {
    if (this.timer !== null) {
      window.clearTimeout(this.timer);
      this.timer = null;
    }
  }
}
