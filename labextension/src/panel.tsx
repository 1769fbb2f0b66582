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
 *   .jp-mlops-empty, .jp-mlops-error, .jp-mlops-retry, .jp-mlops-loading.
 */
import { NotebookPanel } from '@jupyterlab/notebook';
import { LabIcon, ReactWidget } from '@jupyterlab/ui-components';
import React, { useCallback, useState } from 'react';

import { api } from './api';
import { Button, ErrorBox, useResource } from './components';
import { JobSection } from './jobs';
import { ModelsSection } from './models';
import { RunsSection } from './runs';
import { DEFAULT_SETTINGS, PanelSettings } from './settings';

export const PANEL_ID = 'jupyter-mlops-panel';

export const mlopsIcon = new LabIcon({
  name: 'jupyter-mlops:panel',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161">' +
    '<circle cx="5" cy="6" r="2.5"/><circle cx="5" cy="18" r="2.5"/><circle cx="19" cy="12" r="3"/>' +
    '<path d="M7 6.5l9.5 4.5-.6 1.3L6.4 7.8zM6.4 16.2l9.5-4.5.6 1.3L7 17.5z"/></g></svg>'
});

/** What the register form proposes: the job's model, else the notebook's name. */
export function defaultModelName(notebook: string, jobModel: string | null): string {
  return (
    jobModel ??
    notebook
      .replace(/^.*\//, '')
      .replace(/\.ipynb$/, '')
      .replace(/[_\s]+/g, '-')
  );
}

export class MlopsPanel extends ReactWidget {
  private current: NotebookPanel | null = null;
  /** The notebook the sections show (set when the panel is shown or refreshed). */
  private shown: string | null = null;
  /** Bumped by `refresh` (everything) and by `refreshRecords` (runs, models, header). */
  private everything = 0;
  private records = 0;
  private warning: string | null = null;
  private settings: PanelSettings = DEFAULT_SETTINGS;

  constructor(private readonly focusNotebook: (panel: NotebookPanel) => void) {
    super();
    this.id = PANEL_ID;
    this.title.icon = mlopsIcon;
    this.title.caption = 'MLOps: runs, models and the job of this notebook';
    this.addClass('jp-mlops-panel');
  }

  /** Follow another notebook (or none). */
  setNotebook(panel: NotebookPanel | null): void {
    if (panel === this.current) {
      return;
    }
    this.current?.context.pathChanged.disconnect(this.onPathChanged, this);
    this.current = panel;
    panel?.context.pathChanged.connect(this.onPathChanged, this);
    if (this.isVisible) {
      this.refresh();
    }
  }

  /** The user's settings changed. */
  setSettings(settings: PanelSettings): void {
    this.settings = settings;
    this.update();
  }

  /** Everything, as when the panel opens. */
  refresh(): void {
    this.shown = this.current?.context.path ?? null;
    this.warning = null;
    this.everything++;
    this.update();
  }

  /** What a finished %%mlops cell or job may have changed: runs, models and the header. */
  refreshRecords(): void {
    this.records++;
    this.update();
  }

  protected onAfterShow(): void {
    this.refresh();
  }

  protected render(): React.ReactElement {
    return (
      <PanelView
        key={this.shown ?? ''}
        notebook={this.shown}
        everything={this.everything}
        records={this.records}
        settings={this.settings}
        warning={this.warning}
        refresh={() => this.refresh()}
        refreshRecords={() => this.refreshRecords()}
        scrollToCell={id => this.scrollToCell(id)}
        notebookRewritten={() => this.reloadNotebook()}
      />
    );
  }

  dispose(): void {
    this.current?.context.pathChanged.disconnect(this.onPathChanged, this);
    super.dispose();
  }

  private onPathChanged(): void {
    if (this.isVisible) {
      this.refresh();
    }
  }

  private scrollToCell(cellId: string): void {
    const panel = this.current;
    if (!panel) {
      return;
    }
    const notebook = panel.content;
    const index = notebook.widgets.findIndex(cell => cell.model.id === cellId);
    if (index < 0) {
      this.warning = `cell ${cellId} is no longer in this notebook`;
      this.update();
      return;
    }
    this.focusNotebook(panel);
    notebook.activeCellIndex = index;
    void notebook.scrollToItem(index, 'center');
  }

  private async reloadNotebook(): Promise<string> {
    const panel = this.current;
    if (!panel) {
      return '';
    }
    if (panel.context.model.dirty) {
      return 'The notebook has unsaved changes: save them elsewhere, then reload it (File > Reload Notebook from Disk) to see the job contract.';
    }
    await panel.context.revert();
    return 'The notebook was reloaded from disk.';
  }
}

interface PanelViewProps {
  notebook: string | null;
  everything: number;
  records: number;
  settings: PanelSettings;
  warning: string | null;
  refresh: () => void;
  refreshRecords: () => void;
  scrollToCell: (cellId: string) => void;
  notebookRewritten: () => Promise<string>;
}

function PanelView(props: PanelViewProps): React.ReactElement {
  const { notebook, everything, records, settings } = props;
  // the job's model names the register form's default; a registration refreshes the models
  const [jobModel, setJobModel] = useState<string | null>(null);
  const [registered, setRegistered] = useState(0);
  const modelsChanged = useCallback(() => setRegistered(n => n + 1), []);
  return (
    <>
      <div className="jp-mlops-toolbar">
        <h2>MLOps</h2>
        <Button label="Refresh" onClick={props.refresh} className="jp-mlops-refresh" />
      </div>
      <Header
        notebook={notebook}
        refresh={everything + records}
        retry={props.refresh}
        warning={props.warning}
      />
      <RunsSection
        notebook={notebook}
        refresh={everything + records}
        pageSize={settings.runsPageSize}
        recheckInterval={settings.runRecheckInterval}
        defaultModelName={notebook ? defaultModelName(notebook, jobModel) : ''}
        scrollToCell={props.scrollToCell}
        modelsChanged={modelsChanged}
      />
      <ModelsSection notebook={notebook} refresh={everything + records + registered} />
      <JobSection
        notebook={notebook}
        refresh={everything}
        pollInterval={settings.executionPollInterval}
        notebookRewritten={props.notebookRewritten}
        jobEnded={props.refreshRecords}
        jobLoaded={setJobModel}
      />
    </>
  );
}

/** The notebook, its store and experiment, as `%mlops init` resolves them for it. */
function Header(props: {
  notebook: string | null;
  refresh: number;
  retry: () => void;
  warning: string | null;
}): React.ReactElement {
  const { notebook } = props;
  const config = useResource(
    notebook ? () => api.getConfig(notebook) : null,
    notebook ?? '',
    props.refresh
  );
  const { data, error } = config.state;
  let body: React.ReactNode = null;
  if (!notebook) {
    body = <div className="jp-mlops-muted">No notebook in focus.</div>;
  } else if (error !== null) {
    body = <ErrorBox message={error} retry={props.retry} />;
  } else if (data) {
    body = (
      <>
        <div className="jp-mlops-notebook">
          <strong>{notebook}</strong>
        </div>
        <div className="jp-mlops-muted" title={`tracking URI from ${data.tracking_uri_source}`}>
          {`store ${data.tracking_uri}${data.store_exists ? '' : ' (not created yet)'}`}
        </div>
        <div className="jp-mlops-muted">{`experiment ${data.experiment}`}</div>
      </>
    );
  }
  return (
    <div className="jp-mlops-config">
      {body}
      {props.warning ? <div className="jp-mlops-warning">{props.warning}</div> : null}
    </div>
  );
}
