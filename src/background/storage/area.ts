/** The part of a `browser.storage` area the storage module uses; tests pass an in-memory one. */
export interface Area {
  get(keys: string | string[] | null): Promise<Record<string, unknown>>;
  set(items: Record<string, unknown>): Promise<void>;
  remove(keys: string | string[]): Promise<void>;
}

export interface Areas {
  local: Area;
  session: Area;
}
