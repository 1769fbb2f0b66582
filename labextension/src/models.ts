/** The Models section: models registered from this notebook, their versions and aliases, the
 * alias history (ledger) and the lineage graph of the version an alias points at. */
import { api, LineageReply, ModelDetailReply } from './api';
import { formatTime } from './forms';
import { empty, errorBox, h, loading, Section } from './dom';

export interface ModelsHost {
  notebook(): string | null;
}

export class ModelsSection {
  readonly section = new Section('Models', 'jp-mlops-models');
  private generation = 0;

  constructor(private readonly host: ModelsHost) {}

  async refresh(): Promise<void> {
    const notebook = this.host.notebook();
    const generation = ++this.generation;
    if (!notebook) {
      this.section.show(empty('Open a notebook to see the models registered from it.'));
      return;
    }
    if (!this.section.body.childElementCount) this.section.show(loading('models'));
    try {
      const listing = await api.listModels(notebook);
      const details = await Promise.all(listing.models.map(m => api.getModel(m.name, notebook)));
      const lineages = await Promise.all(
        details.map(d => {
          const ref = d.aliases.champion ? '@champion' : (d.versions[0]?.version ?? '');
          return ref ? api.getLineage(d.name, ref, notebook).catch(() => null) : Promise.resolve(null);
        })
      );
      if (generation !== this.generation) return;
      if (!details.length) {
        this.section.show(empty('No model registered from this notebook yet: register one from a run above, or with %mlops register.'));
        return;
      }
      this.section.show(...details.map((d, i) => this.model(d, lineages[i])));
    } catch (error) {
      if (generation === this.generation) this.section.show(errorBox(error, () => void this.refresh()));
    }
  }

  private model(model: ModelDetailReply, lineage: LineageReply | null): HTMLElement {
    const inventory = [model.owner && `owner: ${model.owner}`, model.risk_tier && `risk tier ${model.risk_tier}`]
      .filter(Boolean)
      .join(' · ');
    return h(
      'div',
      { class: 'jp-mlops-model', dataset: { model: model.name } },
      h('div', { class: 'jp-mlops-model-title' }, h('strong', {}, model.name), h('span', { class: 'jp-mlops-muted' }, inventory)),
      model.purpose ? h('div', { class: 'jp-mlops-muted' }, model.purpose) : null,
      h(
        'table',
        { class: 'jp-mlops-versions' },
        h('thead', {}, h('tr', {}, h('th', {}, 'version'), h('th', {}, 'aliases'), h('th', {}, 'registered'), h('th', {}, 'validation'))),
        h(
          'tbody',
          {},
          ...model.versions.map(v =>
            h(
              'tr',
              {
                class: 'jp-mlops-version-row',
                dataset: { version: v.version },
                title: Object.entries(v.metrics).map(([k, x]) => `${k}=${x.toPrecision(4)}`).join('  ')
              },
              h('td', {}, `v${v.version}`),
              h('td', {}, ...v.aliases.map(a => h('span', { class: `jp-mlops-alias jp-mlops-alias-${a}`, dataset: { alias: a } }, `@${a}`))),
              h('td', {}, formatTime(v.created)),
              h('td', {}, v.validation)
            )
          )
        )
      ),
      h('h4', {}, 'Lineage'),
      lineage ? this.lineage(lineage) : empty('no lineage'),
      h('h4', {}, 'Alias history'),
      model.ledger.length
        ? h(
            'table',
            { class: 'jp-mlops-ledger' },
            h('thead', {}, h('tr', {}, h('th', {}, 'when'), h('th', {}, 'alias'), h('th', {}, 'move'), h('th', {}, 'reason'))),
            h(
              'tbody',
              {},
              ...model.ledger.map(e =>
                h('tr', { title: `${e.action} by ${e.actor}` }, h('td', {}, formatTime(e.time)), h('td', {}, `@${e.alias}`), h('td', {}, `${e.from_version ? 'v' + e.from_version : '—'} → v${e.to_version}`), h('td', {}, e.reason))
              )
            )
          )
        : empty('no alias moves yet')
    );
  }

  /** Three columns, left to right: training data → run → version (and its siblings). */
  private lineage(graph: LineageReply): HTMLElement {
    const label = (id: string) => {
      const node = graph.nodes.find(n => n.id === id);
      const attrs = (node?.attributes ?? {}) as Record<string, unknown>;
      if (node?.kind === 'dataset') return `${attrs.name ?? id.split(':')[1]}${attrs.rows ? ` (${attrs.rows} rows)` : ''}`;
      if (node?.kind === 'run') return String(attrs.name ?? attrs.run_name ?? id.split(':')[1].slice(0, 8));
      return id.replace('model_version:', '');
    };
    const column = (title: string, ids: string[], cls: string) =>
      h('div', { class: `jp-mlops-lineage-column ${cls}` }, h('div', { class: 'jp-mlops-muted' }, title), ...ids.map(id => h('div', { class: `jp-mlops-lineage-node${id === graph.root ? ' jp-mod-root' : ''}`, title: id }, label(id))));
    const of = (kind: string) => graph.nodes.filter(n => n.kind === kind).map(n => n.id);
    return h(
      'div',
      { class: 'jp-mlops-lineage' },
      column('data', of('dataset'), 'jp-mlops-lineage-data'),
      h('div', { class: 'jp-mlops-lineage-arrow' }, '→'),
      column('run', of('run'), 'jp-mlops-lineage-run'),
      h('div', { class: 'jp-mlops-lineage-arrow' }, '→'),
      column('versions', of('model_version'), 'jp-mlops-lineage-versions')
    );
  }
}
