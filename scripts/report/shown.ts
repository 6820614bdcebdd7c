/**
 * Text from a runner (its name, backend, messages, stderr) as the console may show it: every control
 * character written out, never interpreted, so that no runner can draw its own lines or colours there.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

export function shown(text: string | undefined): string {
  return (text ?? '').replace(CONTROL, (ch) => {
    if (ch === '\n') return '\\n';
    if (ch === '\t') return '\\t';
    if (ch === '\r') return '\\r';
    return `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

/** The first line of a message, shown. */
export const firstLine = (text: string | undefined): string => shown((text ?? '').split('\n')[0]);
