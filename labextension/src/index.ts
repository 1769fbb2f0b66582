import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';

/**
 * The jupyter-mlops panel plugin (skeleton: the panel itself lands in panel.ts).
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-mlops:plugin',
  description: 'Runs, models, lineage and jobs of the notebook in focus.',
  autoStart: true,
  activate: (_app: JupyterFrontEnd): void => {
    /* filled in by panel.ts */
  }
};

export default plugin;
