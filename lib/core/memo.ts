/**
 * A computed value remembered per key, for keys that repeat and are few (configured clients,
 * number prefixes): when the map reaches `max` entries it is emptied, which bounds it without
 * an LRU's bookkeeping on every read.
 */
export function boundedMemo<T>(max: number, compute: (key: string) => T): (key: string) => T {
  const values = new Map<string, T>();
  return function remembered(key: string): T {
    let value = values.get(key);
    if (value === undefined) {
      if (values.size >= max) values.clear();
      value = compute(key);
      values.set(key, value);
    }
    return value;
  };
}
