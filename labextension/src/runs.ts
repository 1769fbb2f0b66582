/** The Runs section: this notebook's runs, newest first, a run's details and the form that
 * registers the model logged on a run. */
import { api, RunDetailReply, RunSummary } from './api';
import { formatDuration, formatTime, RegisterFields, registerBody, validateRegisterForm } from './forms';
import { button, empty, errorBox, h, keyValues, loading, Section } from './dom';

/** What the Runs section needs from the panel. */
export interface RunsHost {
  notebook(): string | null;
  defaultModelName(): string;
  scrollToCell(cellId: string): void;
  modelsChanged(): void;
}

const PAGE = 20;

export class RunsSection {
  readonly section = new Section('Runs', 'jp-mlops-runs');
  private runs: RunSummary[] = [];
  private nextToken: string | null = null;
  private openRun: string | null = null;
  private generation = 0;
  private recheck: number | null = null;

  constructor(private readonly host: RunsHost) {}

  async refresh(): Promise<void> {
    const notebook = this.host.notebook();
    const generation = ++this.generation;
    if (!notebook) {
      this.section.show(empty('Open a notebook to see its runs.'));
      return;
    }
    if (!this.runs.length) this.section.show(loading('runs'));
    try {
      const page = await api.listRuns(notebook, { limit: PAGE });
      if (generation !== this.generation) return; // another notebook took focus meanwhile
      this.runs = page.runs;
      this.nextToken = page.next_page_token;
      this.render();
      this.recheckWhileRunning();
    } catch (error) {
      if (generation === this.generation) this.section.show(errorBox(error, () => void this.refresh()));
    }
  }

  /** A run still RUNNING (a cell in progress, a job's child) is looked at again every 2 s
   * until none is: the only polling of runs, and only while something runs. */
  private recheckWhileRunning(): void {
    if (this.recheck !== null || !this.runs.some(run => run.status === 'RUNNING')) return;
    this.recheck = window.setTimeout(() => {
      this.recheck = null;
      void this.refresh();
    }, 2000);
  }

  reset(): void {
    if (this.recheck !== null) window.clearTimeout(this.recheck);
    this.recheck = null;
    this.runs = [];
    this.nextToken = null;
    this.openRun = null;
  }

  private async more(): Promise<void> {
    const notebook = this.host.notebook();
    if (!notebook || !this.nextToken) return;
    try {
      const page = await api.listRuns(notebook, { limit: PAGE, pageToken: this.nextToken });
      this.runs = [...this.runs, ...page.runs];
      this.nextToken = page.next_page_token;
      this.render();
    } catch (error) {
      this.section.body.append(errorBox(error));
    }
  }

  private render(): void {
    if (!this.runs.length) {
      this.section.show(
        empty('No runs recorded from this notebook yet: run a cell that starts with %%mlops run.')
      );
      return;
    }
    const list = h('ul', { class: 'jp-mlops-run-list' });
    for (const run of this.runs) {
      list.append(this.row(run));
      if (run.run_id === this.openRun) {
        const details = h('div', { class: 'jp-mlops-run-details' }, loading('run details'));
        list.append(h('li', { class: 'jp-mlops-run-details-item' }, details));
        void this.details(run.run_id, details);
      }
    }
    this.section.show(
      list,
      this.nextToken ? button('Load more', () => void this.more(), 'jp-mlops-more') : null
    );
  }

  private row(run: RunSummary): HTMLElement {
    const keys = run.key_params.length ? run.key_params : Object.keys(run.params).slice(0, 3);
    const metricKeys = run.key_metrics.length ? run.key_metrics : Object.keys(run.metrics).slice(0, 3);
    const params = keys.filter(k => k in run.params).map(k => `${k}=${run.params[k]}`);
    const metrics = metricKeys.filter(k => k in run.metrics).map(k => `${k}=${run.metrics[k].toPrecision(4)}`);
    return h(
      'li',
      {
        class: `jp-mlops-run-row${run.run_id === this.openRun ? ' jp-mod-selected' : ''}`,
        dataset: { runId: run.run_id },
        tabindex: '0',
        title: 'Show details',
        onclick: () => {
          this.openRun = this.openRun === run.run_id ? null : run.run_id;
          this.render();
        }
      },
      h(
        'div',
        { class: 'jp-mlops-run-line' },
        h('span', { class: `jp-mlops-status jp-mlops-status-${run.status.toLowerCase()}` }, run.status),
        h('span', { class: 'jp-mlops-run-name' }, run.name),
        run.has_model ? h('span', { class: 'jp-mlops-badge', title: 'a model is logged with this run' }, 'model') : null,
        h('span', { class: 'jp-mlops-muted' }, `${formatTime(run.start_time)} · ${formatDuration(run.duration_s)}`)
      ),
      params.length || metrics.length
        ? h('div', { class: 'jp-mlops-run-values jp-mlops-muted' }, [...params, ...metrics].join('  '))
        : null
    );
  }

  private async details(runId: string, into: HTMLElement): Promise<void> {
    const notebook = this.host.notebook();
    if (!notebook) return;
    try {
      const run = await api.getRun(runId, notebook);
      into.replaceChildren(...this.detailNodes(run, notebook));
    } catch (error) {
      into.replaceChildren(errorBox(error, () => void this.details(runId, into)));
    }
  }

  private detailNodes(run: RunDetailReply, notebook: string): Node[] {
    const nodes: Node[] = [];
    const facts = h('dl', { class: 'jp-mlops-facts' });
    const fact = (label: string, value: Node | string | null) => {
      if (value === null || value === '') return;
      facts.append(h('dt', {}, label), h('dd', {}, value));
    };
    fact('run id', h('code', {}, run.run_id));
    fact('commit', run.commit ? h('code', {}, run.commit.slice(0, 12)) : 'not in git');
    fact(
      'cell',
      run.cell_id
        ? h(
            'a',
            {
              class: 'jp-mlops-cell-link',
              href: '#',
              title: 'Scroll the notebook to this cell',
              onclick: (event: Event) => {
                event.preventDefault();
                this.host.scrollToCell(run.cell_id as string);
              }
            },
            run.cell_id
          )
        : null
    );
    if (run.mlflow_url) {
      fact('MLflow', h('a', { class: 'jp-mlops-mlflow-link', href: run.mlflow_url, target: '_blank', rel: 'noopener' }, 'Open in MLflow'));
    }
    nodes.push(facts);
    nodes.push(h('h4', {}, 'Params'), keyValues(run.params));
    nodes.push(h('h4', {}, 'Metrics'), keyValues(Object.fromEntries(Object.entries(run.metrics).map(([k, v]) => [k, v.toPrecision(6)]))));
    nodes.push(
      h('h4', {}, 'Datasets'),
      run.datasets.length
        ? h(
            'table',
            { class: 'jp-mlops-datasets' },
            h('thead', {}, h('tr', {}, h('th', {}, 'name'), h('th', {}, 'use'), h('th', {}, 'rows'), h('th', {}, 'fingerprint'))),
            h(
              'tbody',
              {},
              ...run.datasets.map(d =>
                h('tr', {}, h('td', {}, d.name), h('td', {}, d.context ?? ''), h('td', {}, d.rows === null ? '' : String(d.rows)), h('td', { title: d.digest }, h('code', {}, d.digest.slice(0, 16))))
              )
            )
          )
        : empty('no datasets recorded')
    );
    if (run.has_model) {
      const holder = h('div', { class: 'jp-mlops-register' });
      holder.append(button('Register…', () => holder.replaceChildren(this.registerForm(run, notebook)), 'jp-mlops-register-open', true));
      nodes.push(holder);
    } else {
      nodes.push(empty('No model logged with this run: add --log-model VAR to its %%mlops run line to register it from here.'));
    }
    return nodes;
  }

  private registerForm(run: RunDetailReply, notebook: string): HTMLElement {
    const input = (name: keyof RegisterFields, label: string, value = '', placeholder = '') =>
      h('label', { class: 'jp-mlops-field' }, h('span', {}, label), h('input', { class: 'jp-mod-styled', name, value, placeholder }), h('span', { class: 'jp-mlops-form-error', dataset: { field: name } }));
    const tier = h(
      'select',
      { class: 'jp-mod-styled', name: 'risk_tier' },
      h('option', { value: '' }, '—'),
      h('option', { value: '1' }, '1 (highest)'),
      h('option', { value: '2' }, '2'),
      h('option', { value: '3' }, '3')
    );
    const status = h('div', { class: 'jp-mlops-form-status' });
    const form = h(
      'form',
      { class: 'jp-mlops-register-form' },
      input('name', 'Model name', this.host.defaultModelName()),
      input('alias', 'Alias', 'champion', 'champion, challenger…'),
      input('owner', 'Owner', '', 'accountable team'),
      input('purpose', 'Purpose', '', 'what the model is for'),
      h('label', { class: 'jp-mlops-field' }, h('span', {}, 'Risk tier'), tier, h('span', { class: 'jp-mlops-form-error', dataset: { field: 'risk_tier' } })),
      h('div', { class: 'jp-mlops-form-actions' }, h('button', { class: 'jp-Button jp-mod-styled jp-mod-accept jp-mlops-register-submit', type: 'submit' }, 'Register')),
      status
    );
    form.addEventListener('submit', event => {
      event.preventDefault();
      const value = (name: string) => (form.elements.namedItem(name) as HTMLInputElement).value;
      const fields: RegisterFields = { name: value('name'), alias: value('alias'), owner: value('owner'), purpose: value('purpose'), risk_tier: value('risk_tier') };
      const errors = validateRegisterForm(fields);
      form.querySelectorAll<HTMLElement>('.jp-mlops-form-error').forEach(node => {
        node.textContent = errors[node.dataset.field as keyof RegisterFields] ?? '';
      });
      if (Object.keys(errors).length) return;
      const submit = form.querySelector('button[type=submit]') as HTMLButtonElement;
      submit.disabled = true;
      status.replaceChildren(loading('registration'));
      api
        .registerVersion(fields.name.trim(), registerBody(run.run_id, fields), notebook)
        .then(reply => {
          status.replaceChildren(h('div', { class: 'jp-mlops-success' }, reply.summary), ...reply.warnings.map(w => h('div', { class: 'jp-mlops-warning' }, w)));
          this.host.modelsChanged();
        })
        .catch(error => status.replaceChildren(errorBox(error)))
        .finally(() => {
          submit.disabled = false;
        });
    });
    return form;
  }
}
