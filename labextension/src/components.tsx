/**
 * What every section of the panel shares: buttons, the loading / empty / error lines (a
 * section never goes blank), key-value tables, the titled section and the one loading
 * mechanism (`useResource` + `ResourceView`) the runs, run details, models, job and header use.
 */
import React, { useCallback, useRef, useState, useSyncExternalStore } from 'react';

import { Fetcher, Resource, ResourceState } from './resource';

export function Button(props: {
  label: string;
  onClick: () => void;
  className?: string;
  accept?: boolean;
  disabled?: boolean;
}): React.ReactElement {
  const { label, onClick, className = '', accept = false, disabled } = props;
  return (
    <button
      type="button"
      className={`jp-Button jp-mod-styled ${accept ? 'jp-mod-accept' : 'jp-mod-reject'} ${className}`.trim()}
      onClick={onClick}
      disabled={disabled}
    >
      {label}
    </button>
  );
}

export function Loading(props: { what: string }): React.ReactElement {
  return (
    <div className="jp-mlops-loading">
      <span className="jp-mlops-spinner" />
      Loading {props.what}…
    </div>
  );
}

export function Empty(props: { children: React.ReactNode }): React.ReactElement {
  return <div className="jp-mlops-empty">{props.children}</div>;
}

export function ErrorBox(props: { message: string; retry?: () => void }): React.ReactElement {
  return (
    <div className="jp-mlops-error" role="alert">
      <span>{props.message}</span>
      {props.retry ? (
        <Button label="Retry" onClick={props.retry} className="jp-mlops-retry" />
      ) : null}
    </div>
  );
}

/** A small two-column table of `key | value`. */
export function KeyValues(props: { values: Record<string, string | number> }): React.ReactElement {
  const keys = Object.keys(props.values);
  if (!keys.length) {
    return <Empty>none</Empty>;
  }
  return (
    <table className="jp-mlops-kv">
      <tbody>
        {keys.map(key => (
          <tr key={key}>
            <th>{key}</th>
            <td>{String(props.values[key])}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A titled block of the panel (`.jp-mlops-section.<className>`). */
export function Section(props: {
  title: string;
  className: string;
  children: React.ReactNode;
}): React.ReactElement {
  return (
    <section className={`jp-mlops-section ${props.className}`}>
      <header className="jp-mlops-section-header">
        <h3>{props.title}</h3>
      </header>
      <div className="jp-mlops-section-body">{props.children}</div>
    </section>
  );
}

export interface ResourceHandle<T> {
  state: ResourceState<T>;
  /** Load again, keeping what is shown until the reply comes. */
  reload: () => void;
  /** Change the data without a request. */
  update: (change: (data: T) => T) => void;
}

/**
 * Load with `fetcher` when the component mounts, when `key` changes (what was shown is
 * forgotten: another run, another notebook) and when `refresh` changes (what is shown stays
 * until the reply). `fetcher` null: nothing to load.
 */
export function useResource<T>(
  fetcher: Fetcher<T> | null,
  key: string,
  refresh: number
): ResourceHandle<T> {
  const [resource] = useState(() => new Resource<T>());
  const latest = useRef(fetcher);
  latest.current = fetcher;
  const loaded = useRef<string | null>(null);
  const state = useSyncExternalStore(resource.subscribe, () => resource.state);
  React.useEffect(() => {
    if (loaded.current !== key) {
      resource.forget();
      loaded.current = key;
    }
    void resource.load(latest.current);
  }, [resource, key, refresh]);
  const reload = useCallback(() => void resource.load(latest.current), [resource]);
  const update = useCallback((change: (data: T) => T) => resource.update(change), [resource]);
  return { state, reload, update };
}

/**
 * A resource's three states: a loading line until the first data, the error with a Retry
 * button, else `children(data)` (still shown while it reloads).
 */
export function ResourceView<T>(props: {
  resource: ResourceHandle<T>;
  what: string;
  children: (data: T) => React.ReactNode;
}): React.ReactElement {
  const { state, reload } = props.resource;
  if (state.error !== null) {
    return <ErrorBox message={state.error} retry={reload} />;
  }
  if (state.data === null) {
    return <Loading what={props.what} />;
  }
  return <>{props.children(state.data)}</>;
}
