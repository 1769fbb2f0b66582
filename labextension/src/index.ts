/** The jupyter-mlops JupyterLab extension: the MLOps side panel, its commands and the
 * notebook toolbar button. */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, ToolbarButton } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { MlopsPanel, mlopsIcon, PANEL_ID } from './panel';
import { readSettings } from './settings';

/** Command ids, in one place. */
export const CommandIds = {
  open: 'jupyter-mlops:open',
  refresh: 'jupyter-mlops:refresh'
} as const;

/** Cells whose end may have recorded a run or registered a model. */
const RECORDING = /^\s*(%%mlops\b|%mlops\s+register\b)/;
const DEBOUNCE_MS = 400;

/** The plugin id; schema/plugin.json holds its settings. */
const PLUGIN_ID = 'jupyter-mlops:plugin';

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Runs, models, lineage and jobs of the notebook in focus.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette, ILayoutRestorer, ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    registry: ISettingRegistry | null
  ): void => {
    const panel = new MlopsPanel(notebook => app.shell.activateById(notebook.id));
    app.shell.add(panel, 'right', { rank: 600 });
    restorer?.add(panel, PANEL_ID);

    if (registry) {
      registry
        .load(PLUGIN_ID)
        .then(settings => {
          const apply = (): void =>
            panel.setSettings(readSettings(settings.composite as Record<string, unknown>));
          apply();
          settings.changed.connect(apply);
        })
        .catch(reason => console.error('jupyter-mlops: cannot load the panel settings', reason));
    }

    tracker.currentChanged.connect((_, current) => panel.setNotebook(current));
    panel.setNotebook(tracker.currentWidget);

    // Refresh after a %%mlops cell ends: the kernel's execution signal, no polling.
    let timer: number | null = null;
    NotebookActions.executed.connect((_, { notebook, cell }) => {
      if (
        notebook !== tracker.currentWidget?.content ||
        !RECORDING.test(cell.model.sharedModel.getSource())
      ) {
        return;
      }
      if (timer !== null) {
        window.clearTimeout(timer);
      }
      timer = window.setTimeout(() => {
        timer = null;
        if (panel.isVisible) {
          panel.refreshRecords();
        }
      }, DEBOUNCE_MS);
    });

    app.commands.addCommand(CommandIds.open, {
      label: 'Open MLOps panel',
      caption: 'Show the runs, models and job of this notebook',
      icon: mlopsIcon,
      execute: () => app.shell.activateById(PANEL_ID)
    });
    app.commands.addCommand(CommandIds.refresh, {
      label: 'Refresh MLOps panel',
      execute: () => panel.refresh()
    });
    palette?.addItem({ command: CommandIds.open, category: 'MLOps' });
    palette?.addItem({ command: CommandIds.refresh, category: 'MLOps' });

    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: (notebook: NotebookPanel) => {
        const open = new ToolbarButton({
          icon: mlopsIcon,
          tooltip: 'Open the MLOps panel',
          className: 'jp-mlops-toolbar-button',
          onClick: () => void app.commands.execute(CommandIds.open)
        });
        notebook.toolbar.insertItem(10, 'jupyter-mlops', open);
        return open;
      }
    });
  }
};

export default plugin;
