/** Small DOM helpers shared by the panel's sections: element building and the three states
 * every section shows instead of going blank (loading, empty, error). */
import { MlopsApiError } from './request';

type Child = Node | string | null | undefined | false;
type Props = Record<string, unknown>;

/** `h('div', {class: 'x', dataset: {runId: '1'}, onclick: f}, 'text', child)`. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') element.className = String(value);
    else if (key === 'dataset') Object.assign(element.dataset, value as Record<string, string>);
    else if (key.startsWith('on') && typeof value === 'function') {
      element.addEventListener(key.slice(2), value as EventListener);
    } else if (key === 'value' && 'value' in element) {
      (element as HTMLInputElement).value = String(value);
    } else if (key === 'checked' && 'checked' in element) {
      (element as HTMLInputElement).checked = Boolean(value);
    } else element.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child);
  }
  return element;
}

export function loading(what: string): HTMLElement {
  return h('div', { class: 'jp-mlops-loading' }, h('span', { class: 'jp-mlops-spinner' }), `Loading ${what}…`);
}

export function empty(text: string): HTMLElement {
  return h('div', { class: 'jp-mlops-empty' }, text);
}

export function errorBox(error: unknown, retry?: () => void): HTMLElement {
  const message =
    error instanceof MlopsApiError
      ? error.message
      : error instanceof Error
        ? error.message
        : String(error);
  return h(
    'div',
    { class: 'jp-mlops-error', role: 'alert' },
    h('span', {}, message),
    retry ? button('Retry', retry, 'jp-mlops-retry') : null
  );
}

export function button(label: string, onclick: () => void, cls = '', accept = false): HTMLButtonElement {
  return h(
    'button',
    {
      class: `jp-Button jp-mod-styled ${accept ? 'jp-mod-accept' : 'jp-mod-reject'} ${cls}`.trim(),
      type: 'button',
      onclick
    },
    label
  );
}

/** A small two-column table of `key | value`. */
export function keyValues(values: Record<string, string | number>, cls = ''): HTMLElement {
  const keys = Object.keys(values);
  if (!keys.length) return empty('none');
  return h(
    'table',
    { class: `jp-mlops-kv ${cls}`.trim() },
    h('tbody', {}, ...keys.map(k => h('tr', {}, h('th', {}, k), h('td', {}, String(values[k])))))
  );
}

/** A titled block whose body is replaced wholesale on each render. */
export class Section {
  readonly node: HTMLElement;
  readonly body: HTMLElement;

  constructor(title: string, cls: string, actions: Node[] = []) {
    this.body = h('div', { class: 'jp-mlops-section-body' });
    this.node = h(
      'section',
      { class: `jp-mlops-section ${cls}` },
      h('header', { class: 'jp-mlops-section-header' }, h('h3', {}, title), ...actions),
      this.body
    );
  }

  show(...content: Child[]): void {
    this.body.replaceChildren(...(content.filter(Boolean) as (Node | string)[]));
  }
}
