/**
 * The one loading mechanism of the panel's sections (runs, run details, models, job, header):
 * what was loaded, whether a request is under way and the message of the last failure. Pure
 * (no React, no DOM): the `useResource` hook in components.tsx subscribes to it.
 */
import { MlopsApiError } from './request';

/** What a section shows: its data (kept while reloading), a request under way, an error. */
export interface ResourceState<T> {
  /** The last data loaded; `null` before the first load and after `forget`. */
  readonly data: T | null;
  readonly loading: boolean;
  /** The message of the last failed load, `null` once a load succeeds. */
  readonly error: string | null;
}

export type Fetcher<T> = () => Promise<T>;

/** The message an error shows in the panel. */
export function errorMessage(error: unknown): string {
  if (error instanceof MlopsApiError || error instanceof Error) {
    return error.message;
  }
  return String(error);
}

/**
 * Loads data with the fetcher given, newest request wins: a reply that arrives after a newer
 * `load` (or `forget`) started is dropped, so a slow reply for another notebook never shows.
 */
export class Resource<T> {
  private current: ResourceState<T> = { data: null, loading: false, error: null };
  private generation = 0;
  private readonly listeners = new Set<() => void>();

  get state(): ResourceState<T> {
    return this.current;
  }

  /** Call `listener` after every change; returns the function that stops it. */
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  /** Load (again). The data shown so far stays until the reply replaces it. `null`: nothing
   * to load (no notebook), the section shows no data and no error. */
  async load(fetcher: Fetcher<T> | null): Promise<void> {
    const generation = ++this.generation;
    if (fetcher === null) {
      this.set({ data: null, loading: false, error: null });
      return;
    }
    this.set({ ...this.current, loading: true });
    try {
      const data = await fetcher();
      if (generation === this.generation) {
        this.set({ data, loading: false, error: null });
      }
    } catch (error) {
      if (generation === this.generation) {
        this.set({ ...this.current, loading: false, error: errorMessage(error) });
      }
    }
  }

  /** Drop the data and any request under way (the section now shows something else). */
  forget(): void {
    this.generation++;
    this.set({ data: null, loading: false, error: null });
  }

  /** Change the loaded data without a request (a job started, an execution polled). */
  update(change: (data: T) => T): void {
    if (this.current.data !== null) {
      this.set({ ...this.current, data: change(this.current.data) });
    }
  }

  private set(state: ResourceState<T>): void {
    this.current = state;
    for (const listener of [...this.listeners]) {
      listener();
    }
  }
}
