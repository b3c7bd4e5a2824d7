// One tab per till: the first tab holds a Web Lock for its lifetime; another tab of the same
// origin does not get it and sells nothing.

export function holdTillLock(): Promise<boolean> {
  return new Promise((resolve) => {
    void navigator.locks.request('dcs-till', { ifAvailable: true }, (lock) => {
      resolve(lock !== null);
      return lock ? new Promise<void>(() => {}) : undefined; // held until the tab closes
    });
  });
}
