/** The GPU adapter WebGPU gives the page, named as its vendor, architecture and description say, for a report. */
export async function webgpuAdapterName(): Promise<string> {
  // The project's types have no DOM: navigator.gpu, structurally.
  const gpu = (globalThis as unknown as { navigator: { gpu?: { requestAdapter(): Promise<{ info?: Record<string, string> } | null> } } }).navigator.gpu;
  const info = (await gpu?.requestAdapter())?.info ?? {};
  return [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unnamed';
}
