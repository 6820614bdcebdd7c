/**
 * Waits until `holds()` is true or `ms` have passed, whichever is first; the caller then asserts. For what
 * arrives on its own path, such as a page's console line, which the browser reports over DevTools and may
 * report after the protocol answer that followed it.
 */
export async function until(holds: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!holds() && Date.now() < end) await new Promise((wake) => setTimeout(wake, 50));
}
