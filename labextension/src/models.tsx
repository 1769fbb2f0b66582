/** The Models section: models registered from this notebook, their versions and aliases, the
 * alias history (ledger) and the lineage graph of the version an alias points at. */
import React from 'react';

import { api, LineageReply, ModelDetailReply } from './api';
import { Empty, ResourceView, Section, useResource } from './components';
import { formatTime } from './forms';

interface ModelWithLineage {
  model: ModelDetailReply;
  lineage: LineageReply | null;
}

/** Every model registered from the notebook, with the lineage of its champion (else of its
 * newest version). */
async function loadModels(notebook: string): Promise<ModelWithLineage[]> {
  const listing = await api.listModels(notebook);
  const details = await Promise.all(listing.models.map(m => api.getModel(m.name, notebook)));
  return Promise.all(
    details.map(async model => {
      const ref = model.aliases.champion ? '@champion' : (model.versions[0]?.version ?? '');
      const lineage = ref
        ? await api.getLineage(model.name, ref, notebook).catch(() => null)
        : null;
      return { model, lineage };
    })
  );
}

export function ModelsSection(props: {
  notebook: string | null;
  refresh: number;
}): React.ReactElement {
  const { notebook } = props;
  const models = useResource(
    notebook ? () => loadModels(notebook) : null,
    notebook ?? '',
    props.refresh
  );
  return (
    <Section title="Models" className="jp-mlops-models">
      {notebook === null ? (
        <Empty>Open a notebook to see the models registered from it.</Empty>
      ) : (
        <ResourceView resource={models} what="models">
          {list =>
            list.length ? (
              list.map(({ model, lineage }) => (
                <Model key={model.name} model={model} lineage={lineage} />
              ))
            ) : (
              <Empty>
                No model registered from this notebook yet: register one from a run above, or with
                %mlops register.
              </Empty>
            )
          }
        </ResourceView>
      )}
    </Section>
  );
}

function Model(props: ModelWithLineage): React.ReactElement {
  const { model, lineage } = props;
  const inventory = [
    model.owner && `owner: ${model.owner}`,
    model.risk_tier && `risk tier ${model.risk_tier}`
  ]
    .filter(Boolean)
    .join(' · ');
  return (
    <div className="jp-mlops-model" data-model={model.name}>
      <div className="jp-mlops-model-title">
        <strong>{model.name}</strong>
        <span className="jp-mlops-muted">{inventory}</span>
      </div>
      {model.purpose ? <div className="jp-mlops-muted">{model.purpose}</div> : null}
      <table className="jp-mlops-versions">
        <thead>
          <tr>
            <th>version</th>
            <th>aliases</th>
            <th>registered</th>
            <th>validation</th>
          </tr>
        </thead>
        <tbody>
          {model.versions.map(v => (
            <tr
              key={v.version}
              className="jp-mlops-version-row"
              data-version={v.version}
              title={Object.entries(v.metrics)
                .map(([k, x]) => `${k}=${x.toPrecision(4)}`)
                .join('  ')}
            >
              <td>{`v${v.version}`}</td>
              <td>
                {v.aliases.map(a => (
                  <span key={a} className={`jp-mlops-alias jp-mlops-alias-${a}`} data-alias={a}>
                    {`@${a}`}
                  </span>
                ))}
              </td>
              <td>{formatTime(v.created)}</td>
              <td>{v.validation}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h4>Lineage</h4>
      {lineage ? <Lineage graph={lineage} /> : <Empty>no lineage</Empty>}
      <h4>Alias history</h4>
      {model.ledger.length ? (
        <table className="jp-mlops-ledger">
          <thead>
            <tr>
              <th>when</th>
              <th>alias</th>
              <th>move</th>
              <th>reason</th>
            </tr>
          </thead>
          <tbody>
            {model.ledger.map((e, i) => (
              <tr key={`${e.time}-${e.alias}-${i}`} title={`${e.action} by ${e.actor}`}>
                <td>{formatTime(e.time)}</td>
                <td>{`@${e.alias}`}</td>
                <td>{`${e.from_version ? 'v' + e.from_version : '—'} → v${e.to_version}`}</td>
                <td>{e.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <Empty>no alias moves yet</Empty>
      )}
    </div>
  );
}

/** Three columns, left to right: training data → run → version (and its siblings). */
function Lineage(props: { graph: LineageReply }): React.ReactElement {
  const { graph } = props;
  const label = (id: string): string => {
    const node = graph.nodes.find(n => n.id === id);
    const attrs = (node?.attributes ?? {}) as Record<string, unknown>;
    if (node?.kind === 'dataset') {
      return `${attrs.name ?? id.split(':')[1]}${attrs.rows ? ` (${attrs.rows} rows)` : ''}`;
    }
    if (node?.kind === 'run') {
      return String(attrs.name ?? attrs.run_name ?? id.split(':')[1].slice(0, 8));
    }
    return id.replace('model_version:', '');
  };
  const column = (title: string, kind: string, className: string): React.ReactElement => (
    <div className={`jp-mlops-lineage-column ${className}`}>
      <div className="jp-mlops-muted">{title}</div>
      {graph.nodes
        .filter(n => n.kind === kind)
        .map(n => (
          <div
            key={n.id}
            className={`jp-mlops-lineage-node${n.id === graph.root ? ' jp-mod-root' : ''}`}
            title={n.id}
          >
            {label(n.id)}
          </div>
        ))}
    </div>
  );
  return (
    <div className="jp-mlops-lineage">
      {column('data', 'dataset', 'jp-mlops-lineage-data')}
      <div className="jp-mlops-lineage-arrow">→</div>
      {column('run', 'run', 'jp-mlops-lineage-run')}
      <div className="jp-mlops-lineage-arrow">→</div>
      {column('versions', 'model_version', 'jp-mlops-lineage-versions')}
    </div>
  );
}
