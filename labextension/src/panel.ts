/**
 * The "MLOps" right-sidebar panel. It follows the notebook in focus and shows its runs,
 * the models registered from it and its job.
 *
 * DOM hooks (stable; the browser test and docs rely on them):
 *   .jp-mlops-panel, .jp-mlops-refresh, .jp-mlops-config,
 *   .jp-mlops-runs, .jp-mlops-run-row[data-run-id], .jp-mlops-run-details, .jp-mlops-cell-link,
 *   .jp-mlops-mlflow-link, .jp-mlops-more,
 *   .jp-mlops-register-open, .jp-mlops-register-form (inputs name|alias|owner|purpose|risk_tier),
 *   .jp-mlops-register-submit, .jp-mlops-form-error, .jp-mlops-success,
 *   .jp-mlops-models, .jp-mlops-model[data-model], .jp-mlops-version-row[data-version],
 *   .jp-mlops-alias[data-alias], .jp-mlops-ledger, .jp-mlops-lineage,
 *   .jp-mlops-job, .jp-mlops-job-param[data-name], .jp-mlops-job-make, .jp-mlops-job-run,
 *   .jp-mlops-execution[data-status], .jp-mlops-execution-progress, .jp-mlops-execution-cancel,
 *   .jp-mlops-empty, .jp-mlops-error, .jp-mlops-loading.
 */
import { NotebookPanel } from '@jupyterlab/notebook';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { api } from './api';
import { button, errorBox, h } from './dom';
import { JobsSection } from './jobs';
import { ModelsSection } from './models';
import { RunsSection } from './runs';

export const PANEL_ID = 'jupyter-mlops-panel';

export const mlopsIcon = new LabIcon({
  name: 'jupyter-mlops:panel',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161">' +
    '<circle cx="5" cy="6" r="2.5"/><circle cx="5" cy="18" r="2.5"/><circle cx="19" cy="12" r="3"/>' +
    '<path d="M7 6.5l9.5 4.5-.6 1.3L6.4 7.8zM6.4 16.2l9.5-4.5.6 1.3L7 17.5z"/></g></svg>'
});

export class MlopsPanel extends Widget {
  private current: NotebookPanel | null = null;
  private readonly header: HTMLElement;
  private readonly runs: RunsSection;
  private readonly models: ModelsSection;
  private readonly jobs: JobsSection;
  private jobModel: string | null = null;

  constructor(private readonly focusNotebook: (panel: NotebookPanel) => void) {
    super();
    this.id = PANEL_ID;
    this.title.icon = mlopsIcon;
    this.title.caption = 'MLOps: runs, models and the job of this notebook';
    this.addClass('jp-mlops-panel');
    const host = {
      notebook: () => this.notebook(),
      defaultModelName: () => this.defaultModelName(),
      scrollToCell: (id: string) => this.scrollToCell(id),
      modelsChanged: () => void this.models.refresh(),
      notebookRewritten: () => this.reloadNotebook(),
      jobEnded: () => void this.refreshRecords(),
      jobLoaded: (model: string | null) => {
        this.jobModel = model;
      }
    };
    this.runs = new RunsSection(host);
    this.models = new ModelsSection(host);
    this.jobs = new JobsSection(host);
    this.header = h('div', { class: 'jp-mlops-config' });
    this.node.append(
      h('div', { class: 'jp-mlops-toolbar' }, h('h2', {}, 'MLOps'), button('Refresh', () => void this.refresh(), 'jp-mlops-refresh')),
      this.header,
      this.runs.section.node,
      this.models.section.node,
      this.jobs.section.node
    );
  }

  /** Follow another notebook (or none). */
  setNotebook(panel: NotebookPanel | null): void {
    if (panel === this.current) return;
    this.current = panel;
    this.jobModel = null;
    this.runs.reset();
    this.jobs.reset();
    if (this.isVisible) void this.refresh();
  }

  /** What the register form proposes: the job's model, else the notebook's name. */
  defaultModelName(): string {
    const notebook = this.notebook() ?? '';
    return this.jobModel ?? notebook.replace(/^.*\//, '').replace(/\.ipynb$/, '').replace(/[_\s]+/g, '-');
  }

  notebook(): string | null {
    return this.current?.context.path ?? null;
  }

  /** Everything, as when the panel opens. */
  async refresh(): Promise<void> {
    await Promise.all([this.refreshConfig(), this.runs.refresh(), this.models.refresh(), this.jobs.refresh()]);
  }

  /** What a finished %%mlops cell or job may have changed: runs and models. */
  async refreshRecords(): Promise<void> {
    await Promise.all([this.refreshConfig(), this.runs.refresh(), this.models.refresh()]);
  }

  protected onAfterShow(): void {
    void this.refresh();
  }

  dispose(): void {
    this.jobs.dispose();
    super.dispose();
  }

  private async refreshConfig(): Promise<void> {
    const notebook = this.notebook();
    if (!notebook) {
      this.header.replaceChildren(h('div', { class: 'jp-mlops-muted' }, 'No notebook in focus.'));
      return;
    }
    try {
      const config = await api.getConfig(notebook);
      this.header.replaceChildren(
        h('div', { class: 'jp-mlops-notebook' }, h('strong', {}, notebook)),
        h('div', { class: 'jp-mlops-muted', title: `tracking URI from ${config.tracking_uri_source}` }, `store ${config.tracking_uri}${config.store_exists ? '' : ' (not created yet)'}`),
        h('div', { class: 'jp-mlops-muted' }, `experiment ${config.experiment}`)
      );
    } catch (error) {
      this.header.replaceChildren(errorBox(error, () => void this.refresh()));
    }
  }

  private scrollToCell(cellId: string): void {
    const panel = this.current;
    if (!panel) return;
    const notebook = panel.content;
    const index = notebook.widgets.findIndex(cell => cell.model.id === cellId);
    if (index < 0) {
      this.header.append(h('div', { class: 'jp-mlops-warning' }, `cell ${cellId} is no longer in this notebook`));
      return;
    }
    this.focusNotebook(panel);
    notebook.activeCellIndex = index;
    void notebook.scrollToItem(index, 'center');
  }

  private async reloadNotebook(): Promise<string> {
    const panel = this.current;
    if (!panel) return '';
    if (panel.context.model.dirty) {
      return 'The notebook has unsaved changes: save them elsewhere, then reload it (File > Reload Notebook from Disk) to see the job contract.';
    }
    await panel.context.revert();
    return 'The notebook was reloaded from disk.';
  }
}
